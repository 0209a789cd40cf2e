import { z } from 'zod';
import { ConfigError } from '../errors/errors.js';
import type { RequestContext } from '../hooks/events.js';
import {
  assertAuthenticator,
  functionOption,
  loginFieldsShape,
  parseLoginOptions,
} from '../http/adapter-options.js';
import type { LoginFields } from '../http/login-response.js';
import type { AuthSuccess } from '../orchestrator/result.js';
import type { StrategyRequest } from './strategy-request.js';

/** The strategy's name in `passport.authenticate(name)`, unless `name` says otherwise. */
export const DEFAULT_STRATEGY_NAME = 'resilient-auth';

/** passport-local's body fields: `username` and `password`. */
export const DEFAULT_STRATEGY_FIELDS: LoginFields = Object.freeze({
  identifierField: 'username',
  passwordField: 'password',
});

/** Options of {@link ResilientAuthStrategy}: passport-local's, plus `name` and `context`. */
export interface ResilientAuthStrategyOptions<R extends StrategyRequest = StrategyRequest> {
  /** The name to pass to `passport.authenticate()`. Default: `'resilient-auth'`. */
  readonly name?: string;
  /** Body field holding the identifier (passport-local's name for it). Default: `'username'`. */
  readonly usernameField?: string;
  /** Body field holding the password. Default: `'password'`. */
  readonly passwordField?: string;
  /** When true, `verify` receives the request first. Needs `verify`. Default: `false`. */
  readonly passReqToCallback?: boolean;
  /**
   * The request context the throttle and the hooks see. Default: `req.ip`
   * (else the socket's address), the `User-Agent` and `X-Request-Id` headers.
   */
  readonly context?: (req: R) => RequestContext;
}

/** Extra `info` a verify callback may pass; merged over `{ mustChangePassword }` on success. */
export type StrategyInfo = object;

/**
 * The verify callback's `done`, as in passport-local: `done(error)` ends in
 * Passport's `error`, `done(null, false, info?)` refuses (401; `info`
 * defaults to the generic `invalid_credentials` body), `done(null, user,
 * info?)` logs `user` in.
 */
export type VerifyDone<S> = (error: unknown, user?: S | false | null, info?: StrategyInfo) => void;

/**
 * Called after the library accepted the credentials: maps its user to the
 * user Passport logs in (and serializes into the session), or refuses. The
 * `result` is the library's whole success, `rehash` included, so that the app
 * can store it; none of it reaches Passport unless `done` passes it.
 */
export type VerifyFunction<U, S> = (user: U, result: AuthSuccess<U>, done: VerifyDone<S>) => void;

/** {@link VerifyFunction} with the request first (`passReqToCallback: true`). */
export type VerifyFunctionWithRequest<U, S, R extends StrategyRequest = StrategyRequest> = (
  req: R,
  user: U,
  result: AuthSuccess<U>,
  done: VerifyDone<S>,
) => void;

const FACTORY = 'ResilientAuthStrategy';

const schema = z
  .strictObject({
    name: z.string().min(1).max(128).optional(),
    usernameField: loginFieldsShape.identifierField,
    passwordField: loginFieldsShape.passwordField,
    passReqToCallback: z.boolean().optional(),
    context: functionOption<(req: never) => RequestContext>().optional(),
  })
  // passport-local calls the identifier field `usernameField`; the shared helper `identifierField`.
  .transform(({ usernameField, ...rest }) => ({ ...rest, identifierField: usernameField }));

/** The options, validated; what the strategy keeps. */
export interface ParsedStrategyOptions<R extends StrategyRequest> {
  readonly name: string;
  readonly fields: LoginFields;
  readonly passReqToCallback: boolean;
  readonly context: ((req: R) => RequestContext) | undefined;
}

/** Validates the strategy's options; a `ConfigError` naming `ResilientAuthStrategy.option` otherwise. */
export function parseStrategyOptions<R extends StrategyRequest>(
  options: unknown,
  hasVerify: boolean,
): ParsedStrategyOptions<R> {
  const parsed = parseLoginOptions(FACTORY, schema, options, DEFAULT_STRATEGY_FIELDS);
  const passReqToCallback = parsed.passReqToCallback ?? false;
  if (passReqToCallback && !hasVerify) {
    throw new ConfigError(
      `${FACTORY}.passReqToCallback`,
      'needs a verify callback (the request is passed to it)',
    );
  }
  return Object.freeze({
    name: parsed.name ?? DEFAULT_STRATEGY_NAME,
    fields: Object.freeze(parsed.fields),
    passReqToCallback,
    context: parsed.context as ((req: R) => RequestContext) | undefined,
  });
}

/** Checks the constructor's other arguments, as the options are checked. */
export function checkStrategyArguments(auth: unknown, verify: unknown): void {
  assertAuthenticator(FACTORY, auth);
  if (verify !== undefined && typeof verify !== 'function') {
    throw new ConfigError(`${FACTORY}.verify`, 'expected a function');
  }
}
