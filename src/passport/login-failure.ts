import type { AuthHttpError } from '../http/login-response.js';

// Keyed by the request object Passport gave the strategy: nothing is added to
// the request, and the entry goes with it.
const failures = new WeakMap<object, AuthHttpError>();

/** Records the answer the strategy ended `req`'s login with. */
export function recordLoginFailure(req: object, error: AuthHttpError): void {
  failures.set(req, error);
}

/**
 * The `AuthHttpError` a `ResilientAuthStrategy` ended this request's login
 * with: a refusal (`fail`, with the status and body of the mapping table), or
 * the 503 it passed to `error`. Undefined when it did not refuse (or did not
 * run). Passport's `failWithError` hands the error handler its own
 * `AuthenticationError`, which carries only a status: this is how the handler
 * answers with the mapping table's body instead.
 *
 * @example
 * ```ts
 * app.post('/login', passport.authenticate('resilient-auth', { session: false, failWithError: true }), ok);
 * app.use((err, req, res, next) => {
 *   const failure = loginFailure(req);
 *   if (!failure) return next(err);
 *   res.status(failure.status).set(failure.headers).json(failure.body);
 * });
 * ```
 */
export function loginFailure(req: object): AuthHttpError | undefined {
  return failures.get(req);
}
