import type { RequestContext } from '../hooks/events.js';
import {
  type Authenticator,
  type AuthHttpError,
  authenticateBody,
  type LoginFields,
  refusalError,
} from '../http/login-response.js';
import { toError } from '../http/to-error.js';
import type { AuthSuccess } from '../orchestrator/result.js';
import type { AuthUser } from '../providers/provider.js';
import { recordLoginFailure } from './login-failure.js';
import {
  checkStrategyArguments,
  parseStrategyOptions,
  type ResilientAuthStrategyOptions,
  type StrategyInfo,
  type VerifyDone,
  type VerifyFunction,
  type VerifyFunctionWithRequest,
} from './strategy-options.js';
import {
  defaultStrategyContext,
  type StrategyRequest,
  setResponseHeaders,
} from './strategy-request.js';

/** The `info` of a successful login (Passport puts it on `req.authInfo`). */
export interface StrategySuccessInfo {
  /** The account must change its password before going on. */
  readonly mustChangePassword: boolean;
}

/**
 * A Passport strategy that checks a login form's credentials with
 * resilient-auth, with passport-local's options (`usernameField`,
 * `passwordField`, `passReqToCallback`) and verify shape.
 *
 * - Accepted: `success(user, { mustChangePassword })` (after `verify`, when
 *   given). Never `provider`, `degraded` or `rehash`.
 * - Refused (invalid credentials, disabled, locked, rate-limited, invalid
 *   input): `fail(info, status)` with `info` the mapping table's body
 *   (`{ error, message, field? }`) and its status; `Retry-After` is set on
 *   `req.res` for 429, since Passport's failure answer knows no headers.
 *   Missing credentials are `invalid_input` (400 naming the field), where
 *   passport-local answers 400 "Missing credentials".
 * - Could not decide (every provider down): `error(err)`, never `fail`, with
 *   `err` an `AuthHttpError` of status 503 and a `retry-after` header, which
 *   Express's default error handler answers as such. A `failureRedirect`
 *   does not apply to it.
 *
 * The body is read from `req.body` only (never the query string: a password
 * in a URL ends up in access logs), so a body parser must run first.
 *
 * @example
 * ```ts
 * passport.use(new ResilientAuthStrategy(auth, { usernameField: 'email' }, (user, result, done) =>
 *   done(null, { id: user.id }),
 * ));
 * app.post('/login', express.urlencoded({ extended: false }),
 *   passport.authenticate('resilient-auth', { failureRedirect: '/login' }),
 *   (req, res) => res.redirect('/'));
 * // req.authInfo is { mustChangePassword }; a 503 goes to the error handlers, not to /login.
 * ```
 *
 * @typeParam U - The library's user (what the providers' `toUser` returns).
 * @typeParam S - The user `verify` passes to `done`. Default: `unknown`.
 * @typeParam R - The request `verify` and `context` receive; inferred from an
 *   annotated `req` (`(req: express.Request, user, result, done) => ...`).
 */
export class ResilientAuthStrategy<
  U = AuthUser,
  S = unknown,
  R extends StrategyRequest = StrategyRequest,
> {
  /** The name to pass to `passport.authenticate()`. */
  readonly name: string;

  // Plain properties, not `#private` fields: Passport runs `authenticate` on
  // `Object.create(strategy)`, where a `#field` of the strategy is unreachable.
  private readonly auth: Authenticator<U>;
  private readonly fields: LoginFields;
  private readonly context: (req: R) => RequestContext;
  private readonly verify:
    | { readonly withRequest: false; readonly fn: VerifyFunction<U, S> }
    | { readonly withRequest: true; readonly fn: VerifyFunctionWithRequest<U, S, R> }
    | undefined;

  /** Passport's action for an accepted login, set on each request's copy of the strategy. */
  declare success: (user: unknown, info?: StrategySuccessInfo) => void;
  /** Passport's action for a refused login (`challenge` is the `info` its callback receives). */
  declare fail: (challenge?: StrategyInfo, status?: number) => void;
  /** Passport's action for a login that could not be decided. */
  declare error: (error: unknown) => void;

  /** Without `verify`, Passport logs the library's user in as it is. */
  constructor(auth: Authenticator<U>, verify?: VerifyFunction<U, S>);
  constructor(
    auth: Authenticator<U>,
    options: ResilientAuthStrategyOptions<R> & { readonly passReqToCallback: true },
    verify: VerifyFunctionWithRequest<U, S, R>,
  );
  constructor(
    auth: Authenticator<U>,
    options?: ResilientAuthStrategyOptions<R> & { readonly passReqToCallback?: false },
    verify?: VerifyFunction<U, S>,
  );
  constructor(
    auth: Authenticator<U>,
    optionsOrVerify?: ResilientAuthStrategyOptions<R> | VerifyFunction<U, S>,
    verify?: VerifyFunction<U, S> | VerifyFunctionWithRequest<U, S, R>,
  ) {
    let options: unknown = optionsOrVerify;
    let callback: unknown = verify;
    if (typeof optionsOrVerify === 'function') {
      callback = optionsOrVerify;
      options = undefined;
    }
    checkStrategyArguments(auth, callback);
    const parsed = parseStrategyOptions<R>(options, callback !== undefined);
    this.name = parsed.name;
    this.auth = auth;
    this.fields = parsed.fields;
    this.context = parsed.context ?? defaultStrategyContext;
    this.verify =
      callback === undefined
        ? undefined
        : parsed.passReqToCallback
          ? { withRequest: true, fn: callback as VerifyFunctionWithRequest<U, S, R> }
          : { withRequest: false, fn: callback as VerifyFunction<U, S> };
  }

  /**
   * Called by Passport on a copy of the strategy that carries `success`,
   * `fail` and `error`; not meant to be called directly. Ends in exactly one
   * of them; Passport's options are not read.
   */
  authenticate(req: R, _options?: unknown): void {
    // A throw from the app's `context` or an error the library does not
    // map (a bug) goes to `error`: the framework answers 500.
    this.login(req).catch((error: unknown) => this.error(toError(error)));
  }

  private async login(req: R): Promise<void> {
    const outcome = await authenticateBody(this.auth, req.body, this.fields, this.context(req));
    if (!outcome.ok) return this.refuse(req, outcome.error);
    const { result } = outcome;
    if (!this.verify) return this.success(result.user, successInfo(result));
    const done: VerifyDone<S> = (error, user, info) => {
      if (error) return this.error(error);
      if (!user) return this.refuseForApp(req, info);
      this.success(user, { ...successInfo(result), ...info });
    };
    try {
      if (this.verify.withRequest) this.verify.fn(req, result.user, result, done);
      else this.verify.fn(result.user, result, done);
    } catch (error) {
      this.error(toError(error));
    }
  }

  private refuse(req: R, error: AuthHttpError): void {
    recordLoginFailure(req, error);
    setResponseHeaders(req, error.headers);
    if (error.status === 503) this.error(error);
    else this.fail(error.body, error.status);
  }

  // The app's verify refused a user whose password was right: answered as a
  // wrong password (401), so the answer does not confirm the password.
  private refuseForApp(req: R, info: StrategyInfo | undefined): void {
    const error = refusalError({ ok: false, reason: 'invalid_credentials' }, this.fields);
    recordLoginFailure(req, error);
    this.fail(info ?? error.body, error.status);
  }
}

// Only the flag: `provider`, `degraded` and `rehash` (a password hash) stay out
// of `req.authInfo`, which apps log and put in sessions.
function successInfo(result: AuthSuccess<unknown>): StrategySuccessInfo {
  return { mustChangePassword: result.mustChangePassword };
}
