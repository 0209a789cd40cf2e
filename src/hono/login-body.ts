import type { Context } from 'hono';

/**
 * The login form of a Hono request: the parsed JSON for `application/json`,
 * the fields of a form post (`application/x-www-form-urlencoded`,
 * `multipart/form-data`; a field sent twice arrives as an array), and
 * `undefined` for any other body or one that does not parse. The
 * framework-free layer treats `undefined` as an empty form: a 400 naming the
 * identifier field, never a 500.
 *
 * The body is read first and parsed second, so that only a parse failure
 * becomes an empty form: an error while reading it (a client gone, a body
 * limit) still reaches Hono's error handling.
 */
export async function readLoginBody(c: Context): Promise<unknown> {
  const type = mediaType(c.req.header('content-type'));
  if (type === 'application/json') {
    const text = await c.req.text();
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  }
  if (type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data') {
    // Cached by Hono: parseBody() reads this buffer instead of the stream.
    await c.req.arrayBuffer();
    try {
      return await c.req.parseBody({ all: true });
    } catch {
      // A multipart body without its boundary, or otherwise malformed.
      return undefined;
    }
  }
  return undefined;
}

function mediaType(contentType: string | undefined): string | undefined {
  return contentType?.split(';')[0]?.trim().toLowerCase();
}
