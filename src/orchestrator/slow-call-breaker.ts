import type { CircuitState, IBreaker } from 'cockatiel';
import type { ResolvedSlowCalls } from './options.js';
import { SlidingCounts } from './sliding-counts.js';

/** Why a slow-call breaker opened: what the window held when the share passed the rate. */
export interface SlowCallTrip {
  /** Lookups in the window that took longer than `slowCallMs`. */
  readonly slow: number;
  /** Lookups in the window. */
  readonly calls: number;
  /** True when it was a half-open trial that answered too slowly, not the window. */
  readonly trial: boolean;
}

/**
 * A cockatiel {@link IBreaker} that opens on failures (the `inner` breaker:
 * consecutive or failure-rate, unchanged) or when the share of slow lookups
 * over a window reaches `rate` (resilience4j's `slowCallRateThreshold` /
 * `slowCallDurationThreshold`: a slow lookup still answers, but counts as slow).
 *
 * How slowness reaches cockatiel, robustly under concurrent calls:
 * `IBreaker.success()` / `failure()` get no duration and cannot tell which
 * call they are about, and `success()` cannot open the circuit; so nothing
 * is handed over between calls through shared "last duration" state. Instead
 * each call, inside the function the circuit executes, times itself on the
 * injected clock and {@link record}s its own duration synchronously as it
 * settles. The window decides at that moment, and a crossing *latches* the
 * breaker ("open for slow calls"). The call's result then carries `trip:
 * true`, which the policy's result filter (`orWhenResult`) hands to cockatiel
 * as a failure while still returning the answer; {@link failure} answers
 * `true` for any call while latched. Whichever call reaches `failure()`
 * first opens the circuit; the others find it open (a no-op). Slow answers
 * are successes for the inner failure breaker: they never inflate its
 * failure count. The latch and the window are cleared when a half-open trial
 * starts, so the trial alone decides: a trial slower than `slowCallMs`
 * reopens the circuit even though it answered.
 */
export class SlowCallBreaker implements IBreaker {
  readonly #window: SlidingCounts<'calls' | 'slow'>;
  #trip: SlowCallTrip | undefined;

  constructor(
    private readonly inner: IBreaker,
    readonly options: ResolvedSlowCalls,
  ) {
    this.#window = new SlidingCounts(['calls', 'slow'], options.windowMs);
  }

  /** Set while the breaker is open (or about to be) because of slow calls. */
  get trip(): SlowCallTrip | undefined {
    return this.#trip;
  }

  get state(): unknown {
    return this.inner.state;
  }

  set state(value: unknown) {
    this.inner.state = value;
  }

  success(state: CircuitState): void {
    this.inner.success(state);
  }

  failure(state: CircuitState): boolean {
    return this.#trip !== undefined || this.inner.failure(state);
  }

  /**
   * Records one finished lookup of `durationMs`. `trial`: it was the half-open
   * trial; `answered`: it answered (a failure is counted, but only the failure
   * breaker acts on it). Returns true when this call must reach cockatiel as a
   * failure so that the circuit opens.
   */
  record(durationMs: number, nowMs: number, trial: boolean, answered: boolean): boolean {
    const slow = durationMs > this.options.slowCallMs;
    if (trial) {
      if (slow && answered) this.#trip ??= { slow: 1, calls: 1, trial: true };
      return slow && answered;
    }
    this.#window.add(nowMs, slow ? ['calls', 'slow'] : ['calls']);
    if (this.#trip === undefined && slow) {
      const { calls, slow: slowCalls } = this.#window.totals(nowMs);
      if (calls >= this.options.minimumCalls && slowCalls >= this.options.rate * calls) {
        this.#trip = { slow: slowCalls, calls, trial: false };
      }
    }
    return answered && this.#trip !== undefined;
  }

  /** A half-open trial starts, or the circuit closed: the next verdict starts from nothing. */
  clear(): void {
    this.#trip = undefined;
    this.#window.clear();
  }

  /** What an operator reads: "slow", the threshold and the observed share. */
  describe(trip: SlowCallTrip): string {
    const { slowCallMs, rate, windowMs } = this.options;
    return trip.trial
      ? `its half-open trial answered but took longer than ${slowCallMs} ms`
      : `${trip.slow} of ${trip.calls} lookups (${percent(trip.slow / trip.calls)}) in the last ${windowMs} ms took longer than ${slowCallMs} ms (threshold ${percent(rate)})`;
  }
}

function percent(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}
