import type { User } from '@auth/core/types';
import { z } from 'zod';
import { ConfigError, MIN_RETRY_AFTER_MS } from '../errors/errors.js';
import type { RequestContext } from '../hooks/events.js';
import {
  assertAuthenticator,
  functionOption,
  loginFieldsShape,
  parseLoginOptions,
  trustProxySchema,
} from '../http/adapter-options.js';
import type { TrustProxy } from '../http/forwarded-for.js';
import {
  type Authenticator,
  type AuthHttpError,
  authenticateBody,
} from '../http/login-response.js';
import type { AuthSuccess } from '../orchestrator/result.js';
import type { AuthUser } from '../providers/provider.js';
import { contextFromRequest } from './request-context.js';
import { ResilientAuthSignin, ServiceUnavailableSignin } from './signin-errors.js';

/** The user Auth.js gets from `authorize`: its `User` with a string `id` (the session's `sub`). */
export type AuthjsUser = User & { id: string };

/** Options of {@link authorize}. */
export interface AuthorizeOptions<U = AuthUser> {
  /** Credentials field holding the identifier. Default: `'identifier'`. */
  readonly identifierField?: string;
  /** Credentials field holding the password. Default: `'password'`. */
  readonly passwordField?: string;
  /**
   * Which proxies to believe about the client IP (`X-Forwarded-For`): `true`
   * for one proxy in front of the app that writes or appends the client's
   * address (Vercel, one nginx): the rightmost entry, never one the client
   * wrote; a number for a chain of that many. Without it the context has no
   * IP, and the throttle's per-IP limits cannot apply. Not allowed with
   * `context`. Default: `false`.
   */
  readonly trustProxy?: TrustProxy;
  /**
   * Builds the request context instead: replaces the default (IP per
   * `trustProxy`, `User-Agent`, `X-Request-Id`).
   */
  readonly context?: (request: Request) => RequestContext;
  /**
   * The Auth.js user for a successful login, or `null` to refuse it (Auth.js
   * then answers `code=credentials`). `result` has `mustChangePassword`; never
   * put `result.rehash` (a password hash) into the user: store it through the
   * `onRehash` hook. Default: the library's user with its `id` (string or
   * number) as a string; a user without one makes the login throw a
   * `ConfigError` (Auth.js answers `error=Configuration`), since Auth.js
   * would give it a random id.
   */
  readonly toUser?: (user: U, result: AuthSuccess<U>) => AuthjsUser | null;
}

/** What `Credentials({ authorize })` takes. */
export type CredentialsAuthorize = (
  credentials: Partial<Record<string, unknown>>,
  request: Request,
) => Promise<AuthjsUser | null>;

const FACTORY = 'authorize';

const schema = z.strictObject({
  ...loginFieldsShape,
  trustProxy: trustProxySchema.optional(),
  context: functionOption<(request: Request) => RequestContext>().optional(),
  toUser: functionOption<(user: never, result: never) => AuthjsUser | null>().optional(),
});

/**
 * An `authorize` for the Auth.js Credentials provider (`@auth/core` 0.41,
 * next-auth v5; not next-auth v4). It authenticates the posted credentials and
 * answers as Auth.js expects: the user on success, `null` for invalid
 * credentials, and for every other refusal a {@link ResilientAuthSignin} whose
 * `code` Auth.js puts into the sign-in redirect: `account_disabled`,
 * `account_locked`, `rate_limited`, `invalid_input`, and `service_unavailable`
 * ({@link ServiceUnavailableSignin}) when the library cannot decide. Any other
 * error is thrown as is (a bug: Auth.js answers `error=Configuration`).
 *
 * @example
 * ```ts
 * import Credentials from '@auth/core/providers/credentials';
 * Credentials({
 *   credentials: { email: {}, password: {} },
 *   authorize: authorize(auth, { identifierField: 'email', passwordField: 'password', trustProxy: true }),
 * });
 * ```
 */
export function authorize<U>(
  auth: Authenticator<U>,
  options: AuthorizeOptions<U> = {},
): CredentialsAuthorize {
  assertAuthenticator(FACTORY, auth);
  const parsed = parseLoginOptions(FACTORY, schema, options);
  if (parsed.context && parsed.trustProxy !== undefined) {
    throw new ConfigError(`${FACTORY}.trustProxy`, 'has no effect with context: read the IP there');
  }
  const { fields } = parsed;
  const trustProxy = parsed.trustProxy ?? false;
  const context =
    options.context ?? ((request: Request) => contextFromRequest(request, trustProxy));
  const toUser = options.toUser ?? defaultUser;
  return async (credentials, request) => {
    const outcome = await authenticateBody(auth, credentials, fields, context(request));
    if (outcome.ok) return authjsUser(toUser(outcome.result.user, outcome.result));
    const refusal = signinError(outcome.error);
    if (refusal === null) return null;
    throw refusal;
  };
}

/** The mapping (README, "Auth.js / NextAuth"): `null` for invalid credentials, else the error to throw. */
function signinError(error: AuthHttpError): ResilientAuthSignin | null {
  const { error: reason, message, field } = error.body;
  const { retryAfterMs } = error;
  switch (reason) {
    case 'invalid_credentials':
      return null;
    case 'unavailable':
      return new ServiceUnavailableSignin(message, retryAfterMs ?? MIN_RETRY_AFTER_MS, {
        ...(error.cause instanceof Error && { cause: error.cause }),
      });
    default:
      return new ResilientAuthSignin(reason, message, {
        ...(retryAfterMs !== undefined && { retryAfterMs }),
        ...(field !== undefined && { field }),
      });
  }
}

// Auth.js makes a random id for a user without one: every login a new `sub`.
function defaultUser(user: unknown): AuthjsUser {
  const id = (user as { id?: unknown } | null | undefined)?.id;
  if (
    typeof user === 'object' &&
    user !== null &&
    ((typeof id === 'string' && id !== '') ||
      (typeof id === 'number' && Number.isFinite(id)) ||
      typeof id === 'bigint')
  ) {
    return { ...user, id: String(id) };
  }
  throw new ConfigError(
    `${FACTORY}.toUser`,
    'the user has no id (a string or a number): pass toUser to build the Auth.js user',
  );
}

// A copy: Auth.js assigns `user.id`, which would throw on a frozen user.
function authjsUser(user: AuthjsUser | null): AuthjsUser | null {
  if (user === null) return null;
  if (typeof user !== 'object' || typeof user.id !== 'string' || user.id === '') {
    throw new ConfigError(
      `${FACTORY}.toUser`,
      'must return a user with a non-empty string id, or null',
    );
  }
  return { ...user };
}
