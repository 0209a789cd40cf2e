import { CredentialsSignin } from '@auth/core/errors';

/**
 * The `code` Auth.js puts into the sign-in redirect (`?error=CredentialsSignin&code=...`)
 * when `authorize` throws. Invalid credentials have none of these: `authorize`
 * returns `null`, and Auth.js answers `code=credentials`.
 */
export type ResilientAuthSigninCode =
  | 'service_unavailable'
  | 'account_disabled'
  | 'account_locked'
  | 'rate_limited'
  | 'invalid_input';

/**
 * A sign-in the library refused or could not decide, as the `CredentialsSignin`
 * Auth.js expects from `authorize`: the sign-in page reads `code` from its URL;
 * a server action that calls `signIn()` catches the error and reads `code`,
 * `retryAfterMs` and `field` too. Its message is the generic one of the HTTP
 * mapping; it never names a provider.
 *
 * @example
 * ```ts
 * try { await signIn('credentials', formData); }
 * catch (error) {
 *   if (error instanceof ResilientAuthSignin && error.retryAfterMs) return { retryInS: error.retryAfterMs / 1000 };
 *   throw error;
 * }
 * ```
 */
export class ResilientAuthSignin extends CredentialsSignin {
  override readonly code: ResilientAuthSigninCode;
  /**
   * When a new attempt may succeed (`account_locked`, `rate_limited`,
   * `service_unavailable`), in milliseconds, as the library gave it (the
   * HTTP adapters send it as `Retry-After`, rounded up to seconds). Absent
   * otherwise.
   */
  readonly retryAfterMs: number | undefined;
  /** The credentials field that was refused (`invalid_input` only), e.g. `email`. */
  readonly field: string | undefined;

  constructor(
    code: ResilientAuthSigninCode,
    message: string,
    details: {
      readonly retryAfterMs?: number;
      readonly field?: string;
      readonly cause?: Error;
    } = {},
  ) {
    // Auth.js appends ". Read more at <url>" to every message.
    super(message.replace(/\.$/, ''), details.cause && { cause: { err: details.cause } });
    this.name = 'ResilientAuthSignin';
    this.code = code;
    this.retryAfterMs = details.retryAfterMs;
    this.field = details.field;
  }
}

/**
 * Thrown by `authorize` when the library cannot decide (no provider could
 * answer, or the app is shutting down): `code=service_unavailable`, so the
 * sign-in page says "try again shortly" and not "wrong password". Its cause
 * (`cause.err`, Auth.js's convention, printed by its default logger) is the
 * `AuthUnavailableError`, for the server log only.
 */
export class ServiceUnavailableSignin extends ResilientAuthSignin {
  declare readonly code: 'service_unavailable';
  declare readonly retryAfterMs: number;

  constructor(message: string, retryAfterMs: number, options: { readonly cause?: Error } = {}) {
    super('service_unavailable', message, { retryAfterMs, ...options });
    this.name = 'ServiceUnavailableSignin';
  }
}

/** True when `error` is a {@link ResilientAuthSignin} (a refusal or {@link ServiceUnavailableSignin}). */
export function isResilientAuthSignin(error: unknown): error is ResilientAuthSignin {
  return error instanceof ResilientAuthSignin;
}

/** True when `error` is a {@link ServiceUnavailableSignin}. */
export function isServiceUnavailableSignin(error: unknown): error is ServiceUnavailableSignin {
  return error instanceof ServiceUnavailableSignin;
}
