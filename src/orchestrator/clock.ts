/**
 * Source of wall-clock time for breaker half-open timing, lock expiry and the
 * timestamps in health snapshots. Inject a manual clock in tests to step
 * through breaker behaviour without sleeping.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The default clock: `Date.now()`, read at call time (so fake timers apply). */
export const systemClock: Clock = { now: () => Date.now() };
