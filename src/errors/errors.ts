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
  | 'CLOSED';

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

/** Why one provider could not answer during one `authenticate()` call. */
export interface ProviderFailure {
  /** The provider's `name`. */
  readonly provider: string;
  /** SQLSTATE, errno or library code when known (`42703`, `ECONNREFUSED`, `CIRCUIT_OPEN`...). */
  readonly code: string | undefined;
  /** The last error's message, with credentials in URLs redacted. */
  readonly message: string;
  /**
   * The last error as thrown (or the library error that stood for it), for
   * debugging. Its own message is not redacted: log {@link message}, which is.
   */
  readonly error: unknown;
  /** Lookups actually started on this provider; 0 when it was skipped. */
  readonly attempts: number;
  /** Time spent on this provider, backoff included. */
  readonly durationMs: number;
  /** Set when the provider was not called at all, and why. */
  readonly skipped?:
    | 'circuit_open'
    | 'half_open_trial_in_flight'
    | 'isolated'
    | 'deadline_exceeded';
}

/**
 * Thrown by `authenticate()` when it cannot decide: no provider could answer
 * within the deadline (or, in federated mode, a store that failed might hold the
 * account), or password verification itself failed. Never thrown for wrong
 * credentials.
 */
export class AuthUnavailableError extends ResilientAuthError {
  /** One entry per provider considered, in order. */
  readonly failures: readonly ProviderFailure[];

  constructor(
    message: string,
    failures: readonly ProviderFailure[],
    options?: { cause?: unknown },
  ) {
    super('AUTH_UNAVAILABLE', message, options);
    this.name = 'AuthUnavailableError';
    this.failures = failures;
  }
}

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
