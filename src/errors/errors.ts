import { classify } from './classify.js';

/**
 * Every code a {@link ResilientAuthError} can carry. Branch on `code` (or on the
 * `isXxxError` guards), never on message text.
 */
export type ResilientAuthErrorCode =
  | 'AUTH_UNAVAILABLE'
  | 'CONFIG_INVALID'
  | 'INVALID_INPUT'
  | 'PROVIDER_TIMEOUT'
  | 'DEADLINE_EXCEEDED'
  | 'CIRCUIT_OPEN'
  | 'VERIFIER_FAILED'
  | 'SCHEMA_MISMATCH'
  | 'AMBIGUOUS_ACCOUNT'
  | 'INVALID_ANSWER'
  | 'OVERLOADED'
  | 'CLOSED'
  | 'LOGIN_REFUSED';

/**
 * Base class of every error this library throws.
 *
 * @example
 * ```ts
 * try { await auth.authenticate(credentials); }
 * catch (error) {
 *   if (isResilientAuthError(error)) log.warn({ code: error.code }, error.message);
 *   throw error;
 * }
 * ```
 */
export class ResilientAuthError extends Error {
  /** Stable machine-readable code. */
  readonly code: ResilientAuthErrorCode;

  constructor(code: ResilientAuthErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ResilientAuthError';
    this.code = code;
  }
}

/**
 * What kind of trouble a failure is, for alert routing:
 * `connection` (refused, reset, server shutting down or out of connections),
 * `pool_exhausted` (every client of the pool busy: not "database down"),
 * `timeout` (attempt timeout, deadline, statement timeout), `schema`
 * (missing table or column), `authentication` (the database refused the
 * app's credentials), `read_only` (a read-only standby), `configuration`
 * (unknown database, bad options, ambiguous data), `circuit_open` (skipped by
 * a breaker or isolation), `overloaded` (the password could not be checked in
 * time: too many logins at once; shed, not queued), `other`.
 */
export type FailureKind =
  | 'connection'
  | 'pool_exhausted'
  | 'timeout'
  | 'schema'
  | 'authentication'
  | 'read_only'
  | 'configuration'
  | 'circuit_open'
  | 'overloaded'
  | 'other';

/** Why a provider was not called at all during one call. */
export type SkipReason =
  | 'circuit_open'
  | 'half_open_trial_in_flight'
  | 'isolated'
  | 'deadline_exceeded';

/**
 * Why one provider could not answer during one `authenticate()` call: the one
 * record of a provider failure. The error is classified once (see
 * `classify`); events, summaries, health entries and messages are all derived
 * from this record.
 */
export interface Failure {
  /** The provider's `name`; `password-verifier` when the lookup answered but verification failed. */
  readonly provider: string;
  /** SQLSTATE, errno or library code when known (`42703`, `ECONNREFUSED`, `CIRCUIT_OPEN`...). */
  readonly code: string | undefined;
  /** What went wrong, in operator terms: see {@link FailureKind}. */
  readonly kind: FailureKind;
  /** True for kinds `connection` and `pool_exhausted`: a retry soon may succeed. */
  readonly transient: boolean;
  /** The last error's message, with credentials in URLs redacted. */
  readonly message: string;
  /** Lookups actually started on this provider; 0 when it was skipped. */
  readonly attempts: number;
  /** Time spent on this provider, backoff included. */
  readonly durationMs: number;
  /** Set when the provider was not called at all, and why. */
  readonly skipped?: SkipReason;
  /**
   * The last error as thrown (or the library error that stood for it), for
   * debugging. Its own message is not redacted: log {@link message}, which is.
   * Never part of an event.
   */
  readonly error: unknown;
}

/** The name {@link AuthUnavailableError.failures} entries have had since 0.1: the same {@link Failure}. */
export type ProviderFailure = Failure;

/**
 * The one place an error becomes a {@link Failure}: classified once, frozen,
 * with the raw `error` kept non-enumerable so that printing or serialising a
 * failure (or an `AuthUnavailableError`) never shows its unredacted message.
 */
export function failureOf(
  provider: string,
  error: unknown,
  spent: { readonly attempts: number; readonly durationMs: number; readonly skipped?: SkipReason },
): Failure {
  const failure = {
    provider,
    ...classify(error),
    attempts: spent.attempts,
    durationMs: spent.durationMs,
    ...(spent.skipped && { skipped: spent.skipped }),
  };
  Object.defineProperty(failure, 'error', { value: error, enumerable: false });
  return Object.freeze(failure as Failure);
}

/**
 * Thrown by `authenticate()` when it cannot decide: no provider could answer
 * within the deadline (or, in federated mode, a store that failed might hold the
 * account), or password verification itself failed. Never thrown for wrong
 * credentials.
 */
export class AuthUnavailableError extends ResilientAuthError {
  /** One entry per provider considered, in order. */
  readonly failures: readonly Failure[];
  /**
   * When a new attempt may succeed, for a `Retry-After` header: the time
   * until the soonest any provider's breaker lets a trial call through (at least
   * {@link MIN_RETRY_AFTER_MS}), or {@link MIN_RETRY_AFTER_MS} when the password
   * check was shed or failed. The HTTP adapters send it rounded up to seconds.
   */
  readonly retryAfterMs: number;

  constructor(
    message: string,
    failures: readonly Failure[],
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super('AUTH_UNAVAILABLE', message, options);
    this.name = 'AuthUnavailableError';
    this.failures = failures;
    this.retryAfterMs = Math.max(MIN_RETRY_AFTER_MS, options?.retryAfterMs ?? 0);
  }
}

/**
 * The shortest {@link AuthUnavailableError.retryAfterMs}: one second, the
 * smallest `Retry-After` HTTP can say, and enough to stop a retry storm.
 */
export const MIN_RETRY_AFTER_MS = 1000;

/** Thrown at construction (or by `isolate`/`reset`) when an option is invalid. The message names it. */
export class ConfigError extends ResilientAuthError {
  /** Dotted path of the offending option, e.g. `providers.1.policy.timeoutMs`. */
  readonly option: string;

  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super('CONFIG_INVALID', `${option}: ${message}`, options);
    this.name = 'ConfigError';
    this.option = option;
  }
}

/** True when `error` is a {@link ResilientAuthError} (any subclass). */
export function isResilientAuthError(error: unknown): error is ResilientAuthError {
  return error instanceof ResilientAuthError;
}

/** True when `error` is an {@link AuthUnavailableError}. */
export function isAuthUnavailableError(error: unknown): error is AuthUnavailableError {
  return error instanceof AuthUnavailableError;
}

/** True when `error` is a {@link ConfigError}. */
export function isConfigError(error: unknown): error is ConfigError {
  return error instanceof ConfigError;
}

/**
 * The live table does not have what a provider needs: thrown by the SQL
 * providers (and so shown in `health()`) with the table and column named.
 */
export class SchemaMismatchError extends ResilientAuthError {
  /** Schema-qualified table, e.g. `public.users`. */
  readonly table: string;
  /** The missing column; undefined when the table itself is missing. */
  readonly column: string | undefined;
  /** PostgreSQL's SQLSTATE for the same condition: `42P01` (table) or `42703` (column). */
  readonly sqlState: '42P01' | '42703';

  constructor(table: string, column: string | undefined, message: string) {
    super('SCHEMA_MISMATCH', message);
    this.name = 'SchemaMismatchError';
    this.table = table;
    this.column = column;
    this.sqlState = column === undefined ? '42P01' : '42703';
  }
}

/** True when `error` is a {@link SchemaMismatchError}. */
export function isSchemaMismatchError(error: unknown): error is SchemaMismatchError {
  return error instanceof SchemaMismatchError;
}
