import { HTTPException } from 'hono/http-exception';
import type { AuthHttpError } from '../http/login-response.js';

/**
 * An {@link AuthHttpError} as the `HTTPException` Hono's error handling
 * expects: its `status`, and a `res` carrying the status, the headers
 * (`retry-after` on 429 and 503) and `error.body` as JSON, which Hono's
 * default error handler sends as it is. Its `message` is the generic one;
 * its `cause` is the `AuthHttpError` (whose own `cause`, on a 503, is the
 * `AuthUnavailableError` for the app's log; never render it).
 *
 * @example
 * ```ts
 * const outcome = await authenticateBody(auth, await c.req.json(), fields);
 * if (!outcome.ok) throw loginException(outcome.error);
 * ```
 */
export function loginException(error: AuthHttpError): HTTPException {
  const res = new Response(JSON.stringify(error.body), {
    status: error.status,
    headers: { ...error.headers, 'content-type': 'application/json' },
  });
  return new HTTPException(error.status, { res, message: error.message, cause: error });
}
