import type { AuthUser } from '../providers/provider.js';

/** Why a login was refused. Unknown identifier and wrong password are both `invalid_credentials`. */
export type AuthFailureReason =
  | 'invalid_credentials'
  | 'account_disabled'
  | 'account_locked'
  | 'rate_limited'
  | 'invalid_input';

/** The credentials were good. */
export interface AuthSuccess<U = AuthUser> {
  readonly ok: true;
  readonly user: U;
  /** The provider that answered. */
  readonly provider: string;
  /** True when an earlier provider could not answer (the answer came from a fallback). */
  readonly degraded: boolean;
  readonly mustChangePassword: boolean;
  /**
   * Present when the stored hash is weaker than the verifier's target (a lower
   * cost, another algorithm, or made from an un-normalized password): the
   * password rehashed at the target. Store it for this user; `onRehash`
   * carries it too.
   */
  readonly rehash?: string;
  /**
   * Present (and `true`) only on a break-glass login: no provider could
   * answer and an emergency account (`createResilientAuth({ emergency })`)
   * matched. `provider` is then `'emergency'` and `degraded` is true. Give
   * such a session only what an operator needs during an outage.
   */
  readonly emergency?: true;
}

/**
 * The login was refused. Account state is revealed only after a correct
 * password. Branch on `reason`: `retryAfterMs` exists only on
 * `account_locked` and `rate_limited`, `field` only on `invalid_input`.
 */
export type AuthFailure =
  | { readonly ok: false; readonly reason: 'invalid_credentials' | 'account_disabled' }
  | {
      readonly ok: false;
      readonly reason: 'account_locked' | 'rate_limited';
      /** Time until the lock lifts, or until the next attempt may be made. */
      readonly retryAfterMs: number;
    }
  | {
      readonly ok: false;
      readonly reason: 'invalid_input';
      /** Which part of the input was refused. */
      readonly field: 'identifier' | 'password' | 'context';
    };

/** The outcome of `authenticate()`: a value, never an exception, whenever the library could decide. */
export type AuthResult<U = AuthUser> = AuthSuccess<U> | AuthFailure;
