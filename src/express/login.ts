import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import type { RequestContext } from '../hooks/events.js';
import {
  assertAuthenticator,
  functionOption,
  loginFieldsShape,
  parseLoginOptions,
} from '../http/adapter-options.js';
import { type Authenticator, authenticateBody } from '../http/login-response.js';
import type { AuthSuccess } from '../orchestrator/result.js';
import type { AuthUser } from '../providers/provider.js';
import { forwardError } from './forward-error.js';

/** What {@link login} puts on `res.locals`: the successful login, as `authenticate()` answered it. */
export interface LoginLocals<U = AuthUser> {
  /**
   * The success, with `user`, `mustChangePassword`, `provider`, `degraded`
   * and possibly `rehash` (a password hash to store). Render only what the
   * client needs: never `rehash`.
   */
  auth: AuthSuccess<U>;
}

/** Options of {@link login}. */
export interface ExpressLoginOptions<U = AuthUser> {
  /** `req.body` field holding the identifier. Default: `'identifier'`. */
  readonly identifierField?: string;
  /** `req.body` field holding the password. Default: `'password'`. */
  readonly passwordField?: string;
  /**
   * The request context the throttle and the hooks see. Default: `req.ip`
   * (set Express's `trust proxy` behind a proxy), the `User-Agent` header and
   * the `X-Request-Id` header, each cut to what the library accepts.
   */
  readonly context?: (req: Request) => RequestContext;
  /**
   * Called after a successful login instead of `next()`, to answer it (set a
   * session, redirect). A throw or a rejection goes to `next(error)`.
   * Default: none, `next()` is called and the route's next handler answers.
   */
  readonly onSuccess?: (
    req: Request,
    res: Response<unknown, LoginLocals<U>>,
    result: AuthSuccess<U>,
  ) => unknown;
}

/**
 * The middleware {@link login} returns. Its `res` carries {@link LoginLocals},
 * so Express infers them for the route's next handler: `res.locals.auth` is
 * typed there, with no global augmentation of `Express.Locals`. `req.body`
 * is `unknown` there: the credentials are not the next handler's business.
 */
export type LoginMiddleware<U = AuthUser> = (
  // Express's default route params and query types, without importing express-serve-static-core.
  req: Request<Request['params'], unknown, unknown, Request['query'], LoginLocals<U>>,
  res: Response<unknown, LoginLocals<U>>,
  next: NextFunction,
) => void;

const schema = z.strictObject({
  ...loginFieldsShape,
  context: functionOption<(req: Request) => RequestContext>().optional(),
  onSuccess: functionOption<(req: Request, res: Response, result: unknown) => unknown>().optional(),
});

/**
 * Express middleware (Express 5 and 4) that authenticates the credentials in
 * `req.body`, so a body parser (`express.json()`, `express.urlencoded()`)
 * must run before it. On success it sets `res.locals.auth` and calls `next()`
 * (or `onSuccess`). Otherwise it calls `next(error)` with an `AuthHttpError`
 * carrying `status` and `headers` (`retry-after` on 429 and 503), which
 * Express's default error handler already renders; `loginErrorHandler()`
 * renders it as JSON. It never lets a promise reject (Express 4 would not
 * catch it).
 *
 * @example
 * ```ts
 * app.post('/login', express.json(), login(auth, { identifierField: 'email' }), (req, res) => {
 *   const { user, mustChangePassword } = res.locals.auth;
 *   res.json({ ok: true, user, mustChangePassword });
 * });
 * app.use(loginErrorHandler());
 * ```
 */
export function login<U>(
  auth: Authenticator<U>,
  options?: ExpressLoginOptions<U>,
): LoginMiddleware<U> {
  assertAuthenticator('login', auth);
  const parsed = parseLoginOptions('login', schema, options);
  const { fields } = parsed;
  const contextOf = options?.context ?? defaultContext;
  const onSuccess = options?.onSuccess;

  return (req, res, next) => {
    const fail = (error: unknown) => forwardError(next, error);
    let context: RequestContext;
    try {
      context = contextOf(req);
    } catch (error) {
      fail(error);
      return;
    }
    authenticateBody(auth, req.body, fields, context).then((outcome) => {
      if (!outcome.ok) {
        next(outcome.error);
        return;
      }
      res.locals.auth = outcome.result;
      if (onSuccess === undefined) {
        next();
        return;
      }
      let returned: unknown;
      try {
        returned = onSuccess(req, res, outcome.result);
      } catch (error) {
        fail(error);
        return;
      }
      // A thenable's own `then` may throw: Promise.resolve turns that into a rejection too.
      Promise.resolve(returned).then(undefined, fail);
    }, fail);
  };
}

// authenticateBody cuts it to what the library accepts and leaves out absent values.
function defaultContext(req: Request): RequestContext {
  const requestId = req.headers['x-request-id'];
  return {
    ip: req.ip,
    userAgent: req.headers['user-agent'],
    requestId: typeof requestId === 'string' ? requestId : undefined,
  };
}
