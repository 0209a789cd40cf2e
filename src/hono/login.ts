import type { Context, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import { z } from 'zod';
import { ConfigError } from '../errors/errors.js';
import type { RequestContext } from '../hooks/events.js';
import {
  assertAuthenticator,
  functionOption,
  loginFieldsShape,
  parseLoginOptions,
  trustProxySchema,
} from '../http/adapter-options.js';
import { forwardedClientIp, type TrustProxy } from '../http/forwarded-for.js';
import { type Authenticator, authenticateBody } from '../http/login-response.js';
import type { AuthSuccess } from '../orchestrator/result.js';
import type { AuthUser } from '../providers/provider.js';
import { readLoginBody } from './login-body.js';
import { loginException } from './login-exception.js';

/** What {@link login} sets on the context: `c.get('auth')` in the next handler. */
export interface LoginVariables<U = AuthUser> {
  /** The successful login: `user`, `mustChangePassword`, and for the app's own use `provider`, `degraded`, `rehash`. */
  auth: AuthSuccess<U>;
}

/** The Hono `Env` of {@link login}'s middleware. */
export interface LoginEnv<U = AuthUser> {
  Variables: LoginVariables<U>;
}

/** Options of {@link login}. */
export interface HonoLoginOptions {
  /** Body field holding the identifier. Default: `identifier`. */
  readonly identifierField?: string;
  /** Body field holding the password. Default: `password`. */
  readonly passwordField?: string;
  /**
   * The client's IP address, for the throttle (its per-IP and
   * identifier+IP limits need one) and the hooks. Hono has no portable one;
   * each runtime has its own `getConnInfo` (`hono/cloudflare-workers`,
   * `hono/deno`, `hono/bun`...): pass `(c) => getConnInfo(c).remote.address`.
   * Default: from `X-Forwarded-For` when `trustProxy` is set;
   * otherwise the socket's address on Node (`@hono/node-server`, read from
   * `c.env.incoming` without importing Node), and none elsewhere.
   */
  readonly ip?: (c: Context) => string | undefined;
  /**
   * Which proxies to believe about the client IP (`X-Forwarded-For`): `true`
   * for one proxy in front of the app that appends the address it saw (the
   * rightmost entry, never one the client wrote); a number for a chain of
   * that many. Cannot be combined with `ip`. Default: false.
   */
  readonly trustProxy?: TrustProxy;
  /**
   * The request context given to `authenticate()`, replacing the default
   * (`ip` as above, the `User-Agent` and `X-Request-Id` headers). Cannot be
   * combined with `ip` or `trustProxy`. Default: none.
   */
  readonly context?: (c: Context) => RequestContext;
}

const loginSchema = z.strictObject({
  ...loginFieldsShape,
  ip: functionOption<(c: Context) => string | undefined>().optional(),
  trustProxy: trustProxySchema.optional(),
  context: functionOption<(c: Context) => RequestContext>().optional(),
});

/**
 * Login middleware for Hono: authenticates the request body (JSON, or a form
 * post) and, when the credentials are good, sets `c.get('auth')` to the
 * `AuthSuccess` and runs the next handler, which answers. Otherwise it throws
 * an `HTTPException` whose response carries the status of the README's
 * mapping table, `Retry-After` on 429 and 503, and the JSON error body; the
 * next handler does not run. Uses no Node-only API.
 *
 * @example
 * ```ts
 * app.post('/login', login(auth, { identifierField: 'email' }), (c) => {
 *   const { user, mustChangePassword } = c.get('auth');
 *   return c.json({ ok: true, user, mustChangePassword });
 * });
 * ```
 */
export function login<U = AuthUser>(
  auth: Authenticator<U>,
  options?: HonoLoginOptions,
): MiddlewareHandler<LoginEnv<U>> {
  assertAuthenticator('login', auth);
  const parsed = parseLoginOptions('login', loginSchema, options);
  if (parsed.context && (parsed.ip || parsed.trustProxy)) {
    const option = parsed.ip ? 'ip' : 'trustProxy';
    throw new ConfigError(`login.${option}`, 'cannot be combined with context, which replaces it');
  }
  if (parsed.ip && parsed.trustProxy) {
    throw new ConfigError('login.trustProxy', 'cannot be combined with ip, which replaces it');
  }
  const { fields } = parsed;
  const { trustProxy } = parsed;
  const ip =
    parsed.ip ??
    (trustProxy
      ? (c: Context) => forwardedClientIp(c.req.header('x-forwarded-for'), trustProxy)
      : nodeSocketAddress);
  const contextOf =
    parsed.context ??
    // authenticateBody cuts it to what the library accepts and leaves out absent values.
    ((c: Context): RequestContext => ({
      ip: ip(c),
      userAgent: c.req.header('user-agent'),
      requestId: c.req.header('x-request-id'),
    }));
  return createMiddleware<LoginEnv<U>>(async (c, next) => {
    const outcome = await authenticateBody(auth, await readLoginBody(c), fields, contextOf(c));
    if (!outcome.ok) throw loginException(outcome.error);
    c.set('auth', outcome.result);
    await next();
  });
}

// @hono/node-server hands the Node request over as `c.env.incoming`: its
// socket's address, read by shape so this module imports nothing from Node.
function nodeSocketAddress(c: Context): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: unknown } } } | undefined;
  const address = env?.incoming?.socket?.remoteAddress;
  return typeof address === 'string' ? address : undefined;
}
