import type { AttemptEvent, RejectionCause } from './events.js';

/**
 * How one `authenticate()` call ended, as a caller saw it: `authenticated`,
 * a refusal's `reason` (`invalid_credentials` stands for the causes a caller
 * cannot tell apart: unknown identifier, wrong password, malformed stored
 * hash), or `unavailable` (it threw `AuthUnavailableError`). The label that
 * metrics count attempts by.
 */
export type AttemptOutcome =
  | 'authenticated'
  | 'invalid_credentials'
  | 'account_disabled'
  | 'account_locked'
  | 'rate_limited'
  | 'invalid_input'
  | 'unavailable';

/** Every {@link AttemptOutcome}, in the order above. */
export const ATTEMPT_OUTCOMES = Object.freeze([
  'authenticated',
  'invalid_credentials',
  'account_disabled',
  'account_locked',
  'rate_limited',
  'invalid_input',
  'unavailable',
] as const) satisfies readonly AttemptOutcome[];

// Compile-time: the list above names every outcome.
true satisfies AttemptOutcome extends (typeof ATTEMPT_OUTCOMES)[number] ? true : false;

const OUTCOME_OF_CAUSE = Object.freeze({
  invalid_input: 'invalid_input',
  unknown_identifier: 'invalid_credentials',
  wrong_password: 'invalid_credentials',
  malformed_hash: 'invalid_credentials',
  account_disabled: 'account_disabled',
  account_locked: 'account_locked',
  rate_limited: 'rate_limited',
} satisfies Record<RejectionCause, AttemptOutcome>);

/**
 * The outcome of an answered call (an `onAttempt` event), as the caller's
 * result reported it: for a metric label that never reveals more than the
 * caller saw.
 *
 * @example
 * ```ts
 * createResilientAuth({
 *   providers,
 *   hooks: { onAttempt: (e) => logins.inc({ outcome: attemptOutcome(e) }) },
 * });
 * ```
 */
export function attemptOutcome(event: AttemptEvent): Exclude<AttemptOutcome, 'unavailable'> {
  return event.outcome === 'authenticated' ? 'authenticated' : OUTCOME_OF_CAUSE[event.cause];
}
