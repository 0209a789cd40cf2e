import type { NextFunction, Request, Response } from 'express';
import { isAuthHttpError } from '../http/login-response.js';

/** The error middleware {@link loginErrorHandler} returns (four parameters, as Express requires). */
export type LoginErrorMiddleware = (
  error: unknown,
  req: Request,
  res: Response,
  next: NextFunction,
) => void;

/**
 * Express error middleware that answers an `AuthHttpError` (what `login()`
 * passes to `next(error)`) with its status, its headers (`Retry-After` on 429
 * and 503) and its JSON body `{ error, message, field? }`, and passes every
 * other error on, as it is. Without it, Express's default handler answers
 * with the right status and headers but an HTML body, and logs each refused
 * login's stack to `console.error` outside the `test` env.
 *
 * @example
 * ```ts
 * app.post('/login', express.json(), login(auth), (req, res) => res.json({ ok: true }));
 * app.use(loginErrorHandler());
 * ```
 */
export function loginErrorHandler(): LoginErrorMiddleware {
  return (error, _req, res, next) => {
    // Headers already sent: only Express's default handler can end the response (it closes the socket).
    if (!isAuthHttpError(error) || res.headersSent) {
      next(error);
      return;
    }
    res.status(error.status).set(error.headers).json(error.body);
  };
}
