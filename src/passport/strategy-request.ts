import type { RequestContext } from '../hooks/events.js';

/**
 * The parts of a request {@link ResilientAuthStrategy} reads. Express's
 * `Request` has them all; so does any request Passport is given through a
 * framework that parses the body into `req.body`.
 */
export interface StrategyRequest {
  /** The parsed body (a body parser must run before `passport.authenticate()`). */
  readonly body?: unknown;
  /** The client address (Express's `req.ip`, which honours `trust proxy`). */
  readonly ip?: string | undefined;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Where the address comes from when there is no `ip`. */
  readonly socket?: { readonly remoteAddress?: string | undefined } | undefined;
  /** The response (Express sets `req.res`): where a refusal's `Retry-After` is set. */
  readonly res?: StrategyResponse | undefined;
}

/** The part of the response the strategy writes: headers, before anything is sent. */
export interface StrategyResponse {
  readonly headersSent: boolean;
  setHeader(name: string, value: string): unknown;
}

/**
 * The default request context: the client address (`req.ip`, else the
 * socket's), the `User-Agent` and `X-Request-Id` headers (`authenticateBody`
 * cuts each to what the library accepts).
 */
export function defaultStrategyContext(req: StrategyRequest): RequestContext {
  return {
    ip: req.ip ?? req.socket?.remoteAddress,
    userAgent: header(req, 'user-agent'),
    requestId: header(req, 'x-request-id'),
  };
}

function header(req: StrategyRequest, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** Sets `headers` on the request's response, when there is one that has not been sent. */
export function setResponseHeaders(
  req: StrategyRequest,
  headers: Readonly<Record<string, string>>,
): void {
  const res = req.res;
  if (!res || res.headersSent) return;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
}
