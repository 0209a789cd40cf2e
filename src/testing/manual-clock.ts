import type { Clock } from '../orchestrator/clock.js';

/** A {@link Clock} that moves only when told to. */
export interface ManualClock extends Clock {
  /** Moves time forward. */
  advance(ms: number): void;
  /** Jumps to an absolute time (ms since the epoch). */
  set(ms: number): void;
}

/**
 * A clock for tests: step a breaker from open to half-open without sleeping.
 *
 * @example
 * ```ts
 * const clock = manualClock();
 * const auth = createResilientAuth({ providers, clock, policy: { halfOpenAfterMs: 30_000 } });
 * clock.advance(30_000); // the next call is the half-open trial
 * ```
 */
export function manualClock(startMs = Date.UTC(2026, 0, 1)): ManualClock {
  let now = startMs;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
    set(ms) {
      now = ms;
    },
  };
}
