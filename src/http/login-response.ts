import {
  AuthUnavailableError,
  isResilientAuthError,
  MIN_RETRY_AFTER_MS,
  ResilientAuthError,
} from '../errors/errors.js';
import type { RequestContext } from '../hooks/events.js';
import type {
  AuthFailure,
  AuthFailureReason,
  AuthResult,
  AuthSuccess,
} from '../orchestrator/result.js';
import type { AuthUser } from '../providers/provider.js';

/** The HTTP statuses a login can end with, other than the app's own success. */
export type LoginErrorStatus = 400 | 401 | 403 | 429 | 503;

/**
 * What a refused or undecided login answers, in every adapter: the reason,
 * one generic message, and for `invalid_input` the body field that was
 * refused. Never which provider failed, nor why: that goes to the hooks.
 */
export interface LoginErrorBody {
  readonly error: AuthFailureReason | 'unavailable';
  readonly message: string;
  /** The request body's field that was refused (`invalid_input` only). */
  readonly field?: string;
}

/** Where the credentials are in a request body. */
export interface LoginFields {
  /** Body field holding the identifier. */
  readonly identifierField: string;
  /** Body field holding the password. */
  readonly passwordField: string;
}

/** Default body fields: `identifier` and `password`. */
export const DEFAULT_LOGIN_FIELDS: LoginFields = Object.freeze({
  identifierField: 'identifier',
  passwordField: 'password',
});

const MESSAGES: Readonly<Record<LoginErrorBody['error'], string>> = {
  invalid_credentials: 'Invalid identifier or password.',
  account_disabled: 'This account is disabled.',
  account_locked: 'This account is locked. Try again later.',
  rate_limited: 'Too many login attempts. Try again later.',
  invalid_input: 'Invalid input.',
  unavailable: 'Login is temporarily unavailable. Try again shortly.',
};

const STATUS: Readonly<Record<LoginErrorBody['error'], LoginErrorStatus>> = {
  invalid_credentials: 401,
  account_disabled: 403,
  account_locked: 429,
  rate_limited: 429,
  invalid_input: 400,
  unavailable: 503,
};

// RFC 9110 asks recipients to handle delta-seconds up to 2^31.
const MAX_RETRY_AFTER_S = 2_147_483_647;

/** Milliseconds as a `Retry-After` value: whole seconds, rounded up, at least 1. */
export function retryAfterSeconds(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  return String(
    Math.min(
      MAX_RETRY_AFTER_S,
      Math.max(1, Number.isFinite(seconds) ? seconds : MAX_RETRY_AFTER_S),
    ),
  );
}

/**
 * A login that did not succeed, as an HTTP error every framework's default
 * error handler understands: `status` and `statusCode`, `headers` (with
 * `retry-after` on 429 and 503), `expose` for 4xx, and a message that is the
 * generic one of {@link LoginErrorBody}. Code `LOGIN_REFUSED` for a refusal,
 * `AUTH_UNAVAILABLE` for 503. Its `cause` (503 only) is the
 * `AuthUnavailableError`, for the app's own logging; never render it.
 */
export class AuthHttpError extends ResilientAuthError {
  readonly status: LoginErrorStatus;
  /** The same as {@link status}, for frameworks that read `statusCode` (Fastify, Hono's `HTTPException` users). */
  readonly statusCode: LoginErrorStatus;
  readonly headers: Readonly<Record<string, string>>;
  /** The response body every adapter sends. */
  readonly body: LoginErrorBody;
  /** True for 4xx: the message is meant for the client (http-errors' convention). */
  readonly expose: boolean;
  /** On 429 and 503: the wait `Retry-After` says, in milliseconds as the library gave it. */
  readonly retryAfterMs: number | undefined;

  constructor(
    status: LoginErrorStatus,
    body: LoginErrorBody,
    headers: Readonly<Record<string, string>>,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(status === 503 ? 'AUTH_UNAVAILABLE' : 'LOGIN_REFUSED', body.message, options);
    this.name = 'AuthHttpError';
    this.status = status;
    this.statusCode = status;
    this.headers = headers;
    this.body = body;
    this.expose = status < 500;
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** True when `error` is an {@link AuthHttpError}. */
export function isAuthHttpError(error: unknown): error is AuthHttpError {
  return error instanceof AuthHttpError;
}

/** The HTTP error for a refused login, following the mapping table (README, "HTTP mapping"). */
export function refusalError(
  failure: AuthFailure,
  fields: LoginFields = DEFAULT_LOGIN_FIELDS,
): AuthHttpError {
  const status = STATUS[failure.reason];
  if (failure.reason === 'invalid_input') {
    const field = bodyField(failure.field, fields);
    return new AuthHttpError(
      status,
      { error: failure.reason, message: `Invalid ${field}.`, field },
      {},
    );
  }
  const body = { error: failure.reason, message: MESSAGES[failure.reason] };
  if (failure.reason === 'account_locked' || failure.reason === 'rate_limited') {
    const { retryAfterMs } = failure;
    return new AuthHttpError(
      status,
      body,
      { 'retry-after': retryAfterSeconds(retryAfterMs) },
      { retryAfterMs },
    );
  }
  return new AuthHttpError(status, body, {});
}

/**
 * The HTTP error for a login the library could not decide: 503 with
 * `Retry-After` from `error.retryAfterMs`, and the generic message.
 */
export function unavailableError(error: AuthUnavailableError | ResilientAuthError): AuthHttpError {
  const retryAfterMs =
    error instanceof AuthUnavailableError ? error.retryAfterMs : MIN_RETRY_AFTER_MS;
  return new AuthHttpError(
    503,
    { error: 'unavailable', message: MESSAGES.unavailable },
    { 'retry-after': retryAfterSeconds(retryAfterMs) },
    { cause: error, retryAfterMs },
  );
}

function bodyField(field: 'identifier' | 'password' | 'context', fields: LoginFields): string {
  if (field === 'identifier') return fields.identifierField;
  if (field === 'password') return fields.passwordField;
  return 'context';
}

/** A login from a request: the success, or the {@link AuthHttpError} to answer with. */
export type LoginOutcome<U = AuthUser> =
  | { readonly ok: true; readonly result: AuthSuccess<U> }
  | { readonly ok: false; readonly error: AuthHttpError };

/** The part of `ResilientAuth` a login route needs. */
export interface Authenticator<U = AuthUser> {
  authenticate(credentials: {
    readonly identifier: string;
    readonly password: string;
    readonly context?: RequestContext;
  }): Promise<AuthResult<U>>;
}

/**
 * Authenticates the credentials in a parsed request body and maps the outcome
 * as every adapter does: what a framework adapter is built on, for a framework
 * this package has no adapter for. Fields that are missing, not strings, too
 * long or hold control characters are the library's `invalid_input` (400
 * naming the field); a body that is not an object is treated as empty.
 * `AuthUnavailableError`, and `CLOSED` while the app shuts down, become 503;
 * any other error is thrown (a bug: let the framework answer 500).
 *
 * @example
 * ```ts
 * const outcome = await authenticateBody(auth, ctx.request.body, { identifierField: 'email', passwordField: 'password' }, { ip: ctx.ip });
 * if (!outcome.ok) { ctx.status = outcome.error.status; ctx.set(outcome.error.headers); ctx.body = outcome.error.body; return; }
 * ctx.session.userId = outcome.result.user.id;
 * ```
 */
export async function authenticateBody<U>(
  auth: Authenticator<U>,
  body: unknown,
  fields: LoginFields = DEFAULT_LOGIN_FIELDS,
  context?: RequestContext,
): Promise<LoginOutcome<U>> {
  const form =
    typeof body === 'object' && body !== null && !Array.isArray(body)
      ? (body as Record<string, unknown>)
      : {};
  const credentials = {
    identifier: ownField(form, fields.identifierField),
    password: ownField(form, fields.passwordField),
    // The app's own context is cut like the default one: a long header must not refuse a login.
    ...(context && { context: requestContext(context) }),
  };
  try {
    // Non-strings are passed on as they are: the library's input check refuses them, naming the field.
    const result = await auth.authenticate(credentials as { identifier: string; password: string });
    return result.ok ? { ok: true, result } : { ok: false, error: refusalError(result, fields) };
  } catch (error) {
    if (
      error instanceof AuthUnavailableError ||
      (isResilientAuthError(error) && error.code === 'CLOSED')
    ) {
      return { ok: false, error: unavailableError(error) };
    }
    throw error;
  }
}

// Own properties only: `toString` or `__proto__` in a form is not a credential.
function ownField(form: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(form, name) ? form[name] : undefined;
}

// The library refuses context fields over 2,048 characters; a long header must not refuse a login.
const MAX_CONTEXT_CHARS = 2048;

/**
 * A {@link RequestContext} from request metadata, each value cut to what the
 * library accepts (a 3 KB `User-Agent` must not refuse a login) and absent
 * values left out.
 */
export function requestContext(values: {
  readonly ip?: string | undefined;
  readonly userAgent?: string | undefined;
  readonly requestId?: string | undefined;
}): RequestContext {
  const context: { ip?: string; userAgent?: string; requestId?: string } = {};
  for (const key of ['ip', 'userAgent', 'requestId'] as const) {
    const value = values[key];
    if (typeof value === 'string' && value !== '') context[key] = value.slice(0, MAX_CONTEXT_CHARS);
  }
  return context;
}
