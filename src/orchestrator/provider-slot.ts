import {
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  type IBreaker,
  type IDisposable,
  SamplingBreaker,
} from 'cockatiel';
import { type Failure, failureOf, ResilientAuthError, type SkipReason } from '../errors/errors.js';
import type { EventSink } from '../hooks/dispatch.js';
import type { CircuitStateName, LookupResult, ProviderFailureEvent } from '../hooks/events.js';
import type { Account, AuthProvider, ProviderNotice } from '../providers/provider.js';
import { withTimeout } from './attempt-timeout.js';
import type { CallScope } from './call-scope.js';
import type { Clock } from './clock.js';
import type { Deadline } from './deadline.js';
import { LookupCancelled } from './hedged-lookup.js';
import { LatencyWindow } from './latency-window.js';
import type { ResolvedPolicy } from './options.js';
import { SlowCallBreaker, type SlowCallTrip } from './slow-call-breaker.js';

/**
 * What one provider said within one call: an answer, a failure, or nothing
 * because the caller cancelled it (a hedge answered first).
 */
export type Lookup<U> =
  | { readonly ok: true; readonly account: Account<U> | null }
  | { readonly ok: false; readonly failure: Failure; readonly cancelled?: undefined }
  | { readonly ok: false; readonly cancelled: true; readonly failure?: undefined };

/** How a lookup is run within a hedged call. */
export interface LookupOptions {
  /**
   * Aborting it cancels the lookup (its provider's signal aborts, retries
   * stop) unless it is a half-open trial, which runs to its end so that it
   * decides the breaker.
   */
  readonly signal?: AbortSignal;
  /** Started as a hedge: its events say `hedged: true`. */
  readonly hedged?: boolean;
}

/** What the breaker's function resolves: the answer, and whether it must reach cockatiel as a failure (too slow). */
interface Verdict<U> {
  readonly account: Account<U> | null;
  readonly trip: boolean;
}

const CANCELLED: Lookup<never> = Object.freeze({ ok: false, cancelled: true });

// Below this much time left, a retry cannot do useful work: fail over instead.
// Also the slack allowed when judging whether a provider had its full time.
const MIN_USEFUL_ATTEMPT_MS = 5;

// Deadline cuts of providers that started with less than their own time,
// because earlier providers in the same call used it: they say little about
// the provider, so its breaker does not count them (except a half-open trial).
const INHERITED_CUTS = new WeakSet<object>();

const STATE_NAMES: Record<CircuitState, CircuitStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

const SKIPPED: Record<
  SkipReason,
  { readonly code: 'CIRCUIT_OPEN' | 'DEADLINE_EXCEEDED'; readonly why: string }
> = {
  circuit_open: { code: 'CIRCUIT_OPEN', why: 'circuit breaker open' },
  half_open_trial_in_flight: {
    code: 'CIRCUIT_OPEN',
    why: 'circuit breaker half-open, its trial call in flight',
  },
  isolated: { code: 'CIRCUIT_OPEN', why: 'isolated by an operator' },
  deadline_exceeded: { code: 'DEADLINE_EXCEEDED', why: 'deadline passed before it could be asked' },
};

/**
 * One provider with its policies: a circuit breaker (cockatiel, built once)
 * around an aggressive timeout capped at the deadline, run by an explicit
 * attempt loop that retries transient failures with backoff; plus what health
 * needs to know about it.
 *
 * Half-open timing runs on the injected clock: cockatiel's own breaker is told
 * to allow a trial at once (`halfOpenAfter: 0`), and {@link skipReason} holds
 * calls back until `halfOpenAfterMs` has passed on the clock. While the trial
 * is in flight, other calls skip this provider instead of waiting on it.
 */
export class ProviderSlot<U> {
  readonly name: string;
  #lastFailure: Failure | undefined;
  #lastFailureAtMs = 0;
  #lastSuccessAtMs: number | undefined;
  #lastLatencyMs: number | undefined;
  #breaker: CircuitBreakerPolicy;
  #isolation: IDisposable | undefined;
  #openedAtMs = 0;
  // The slow-call breaker inside #breaker, when slowCalls is on; replaced with it.
  #slow: SlowCallBreaker | undefined;
  // Set while the breaker is open because of slow calls.
  #openedForSlow: SlowCallTrip | undefined;
  // Recent lookup latencies, kept only for hedgeAfterMs: 'p95'.
  readonly #latency: LatencyWindow | undefined;
  // While the state is unchanged, a skip is the same failure every time.
  #lastSkip: Failure | undefined;
  readonly #notify: (notice: ProviderNotice) => void;

  constructor(
    readonly provider: AuthProvider<U>,
    readonly policy: ResolvedPolicy,
    private readonly clock: Clock,
    private readonly events: EventSink,
  ) {
    this.name = provider.name;
    this.#latency = policy.hedgeAfterMs === 'p95' ? new LatencyWindow() : undefined;
    this.#breaker = this.#newBreaker();
    this.#notify = (notice) =>
      events.emit('onSchemaDrift', () => ({ ...notice, provider: this.name }));
  }

  /** The breaker's state as health reports it. */
  get state(): CircuitStateName {
    return STATE_NAMES[this.#breaker.state];
  }

  /** The most recent failure (lookup or probe) and when it happened, for `health()`. */
  get lastFailure(): { readonly failure: Failure; readonly atMs: number } | undefined {
    return this.#lastFailure && { failure: this.#lastFailure, atMs: this.#lastFailureAtMs };
  }

  get lastSuccessAtMs(): number | undefined {
    return this.#lastSuccessAtMs;
  }

  /** How long the last lookup that answered took, backoff included. */
  get lastLatencyMs(): number | undefined {
    return this.#lastLatencyMs;
  }

  /**
   * Milliseconds until this provider may be called again: 0 while its breaker
   * is closed or its trial is in flight, the rest of the half-open wait while
   * it is open, `Infinity` while it is isolated.
   */
  retryInMs(): number {
    switch (this.#breaker.state) {
      case CircuitState.Open:
        return Math.max(0, this.policy.halfOpenAfterMs - (this.clock.now() - this.#openedAtMs));
      case CircuitState.Isolated:
        return Number.POSITIVE_INFINITY;
      default:
        return 0;
    }
  }

  /**
   * After how long without an answer from this provider the next one is asked
   * too, or `undefined` for no hedge: hedging is off, or `'p95'` has too few
   * lookups to go on yet.
   */
  hedgeDelayMs(): number | undefined {
    const { hedgeAfterMs } = this.policy;
    if (hedgeAfterMs !== 'p95') return hedgeAfterMs;
    const p95 = this.#latency?.p95();
    return p95 === undefined ? undefined : Math.max(1, Math.ceil(p95));
  }

  /**
   * Whether a lookup started now honours a cancel signal: only while the
   * breaker is closed. A half-open trial is never cancelled: it decides the breaker.
   */
  get cancellable(): boolean {
    return this.#breaker.state === CircuitState.Closed;
  }

  /** Why this provider must not be called now, or `undefined` when it may be. */
  skipReason(): SkipReason | undefined {
    switch (this.#breaker.state) {
      case CircuitState.Closed:
        return undefined;
      case CircuitState.Open:
        return this.clock.now() - this.#openedAtMs < this.policy.halfOpenAfterMs
          ? 'circuit_open'
          : undefined;
      case CircuitState.HalfOpen:
        return 'half_open_trial_in_flight';
      default:
        return 'isolated';
    }
  }

  /** The failure that stands for this provider not being called at all. */
  skipped(reason: SkipReason): Failure {
    if (this.#lastSkip?.skipped === reason) return this.#lastSkip;
    const { code, why } = SKIPPED[reason];
    const last = this.#lastFailure?.code;
    const slow = this.#openedForSlow;
    const message =
      reason === 'circuit_open' && slow && this.#slow
        ? `provider "${this.name}" skipped: circuit breaker open for slow calls: ${this.#slow.describe(slow)}`
        : `provider "${this.name}" skipped: ${why}${last ? ` (last failure code ${last})` : ''}`;
    this.#lastSkip = failureOf(this.name, new ResilientAuthError(code, message), {
      attempts: 0,
      durationMs: 0,
      skipped: reason,
    });
    return this.#lastSkip;
  }

  /** Holds the breaker open until {@link reset}. */
  isolate(): void {
    this.#isolation ??= this.#breaker.isolate();
  }

  /** Closes the breaker, lifting isolation, and forgets its failure count. */
  reset(): void {
    const from = this.state;
    // The old breaker, with its isolation handle, is dropped whole.
    this.#isolation = undefined;
    this.#lastSkip = undefined;
    this.#breaker = this.#newBreaker();
    if (from !== 'closed') this.#stateChanged(from, 'closed');
  }

  /**
   * Looks `identifier` up within the deadline, retrying transient failures.
   * Resolves `{ ok: false, cancelled: true }`, never a failure, when
   * `options.signal` aborted it: no breaker count, no `onProviderFailure`,
   * an `onLookup` of result `cancelled`.
   */
  async lookup(
    identifier: string,
    deadline: Deadline,
    scope: CallScope,
    options: LookupOptions = {},
  ): Promise<Lookup<U>> {
    const started = performance.now();
    const cancel = this.cancellable ? options.signal : undefined;
    const hedged = options.hedged === true;
    const latencyFromMs = this.#latency && performance.now();
    const { timeoutMs } = this.policy;
    const inherited =
      deadline.remainingMs() < Math.min(timeoutMs, deadline.ms) - MIN_USEFUL_ATTEMPT_MS;
    let failure: Failure | undefined;
    for (let attempt = 1; ; attempt++) {
      // During the backoff other calls may have opened the breaker: it decides again.
      if (failure !== undefined && this.skipReason() !== undefined) {
        this.#record(failure);
        return { ok: false, failure };
      }
      const attemptStarted = performance.now();
      try {
        const account = await this.#attempt(identifier, deadline, inherited, cancel);
        const now = performance.now();
        this.#lastSuccessAtMs = this.clock.now();
        this.#lastLatencyMs = now - started;
        if (latencyFromMs !== undefined) this.#latency?.record(performance.now() - latencyFromMs);
        this.#looked(
          account === null ? 'not_found' : 'found',
          attempt,
          now - attemptStarted,
          scope,
          hedged,
        );
        return { ok: true, account };
      } catch (error) {
        const now = performance.now();
        if (error instanceof LookupCancelled) {
          // At least this long: recorded so that the p95 is not biased towards the fast ones.
          if (latencyFromMs !== undefined) this.#latency?.record(performance.now() - latencyFromMs);
          this.#looked('cancelled', attempt, now - attemptStarted, scope, hedged);
          return this.#cancelled(failure);
        }
        failure = failureOf(this.name, error, { attempts: attempt, durationMs: now - started });
        const delayMs = backoffMs(this.policy.retry, attempt);
        const willRetry = this.#mayRetry(failure, delayMs, deadline);
        const event = failure;
        this.#looked('failed', attempt, now - attemptStarted, scope, hedged, event);
        this.events.emit('onProviderFailure', () => attemptEvent(event, willRetry, scope));
        if (!willRetry) {
          this.#record(failure);
          return { ok: false, failure };
        }
        await sleep(delayMs, cancel);
        if (cancel?.aborted) return this.#cancelled(failure);
      }
    }
  }

  /**
   * A lookup cancelled because another provider answered first: nothing, or,
   * when an earlier attempt had already failed (it was waiting to retry), that
   * failure: the provider could not answer, and the call must say so.
   */
  #cancelled(failure: Failure | undefined): Lookup<U> {
    if (failure === undefined) return CANCELLED;
    this.#record(failure);
    return { ok: false, failure };
  }

  #looked(
    result: LookupResult,
    attempt: number,
    durationMs: number,
    scope: CallScope,
    hedged: boolean,
    failure?: Failure,
  ): void {
    this.events.emit('onLookup', () => ({
      provider: this.name,
      result,
      attempt,
      durationMs,
      ...(failure && { kind: failure.kind }),
      ...(failure?.code !== undefined && { code: failure.code }),
      ...(hedged && { hedged: true as const }),
      ...(scope.shadow !== undefined && { shadow: scope.shadow }),
      call: scope.call,
      context: scope.context,
    }));
  }

  /**
   * Runs the provider's `check()` under the attempt timeout, without touching
   * the breaker. Resolves the failure it recorded, or `undefined` when it passed.
   */
  async probe(): Promise<Failure | undefined> {
    const check = this.provider.check;
    if (!check) return undefined;
    const started = performance.now();
    const { timeoutMs } = this.policy;
    try {
      await withTimeout(
        timeoutMs,
        this.#notify,
        (ctx) => check.call(this.provider, ctx),
        () =>
          new ResilientAuthError(
            'PROVIDER_TIMEOUT',
            `provider "${this.name}" check did not answer within ${timeoutMs} ms`,
          ),
      );
      this.#lastSuccessAtMs = this.clock.now();
      return undefined;
    } catch (error) {
      const failure = failureOf(this.name, error, {
        attempts: 1,
        durationMs: performance.now() - started,
      });
      this.#record(failure);
      return failure;
    }
  }

  /**
   * One attempt: the provider's lookup under the breaker and a timeout capped
   * at the time left: PROVIDER_TIMEOUT when its own timeout cut it,
   * DEADLINE_EXCEEDED when the call's deadline did, {@link LookupCancelled}
   * when `cancel` aborted.
   *
   * With slowCalls on, the attempt times itself on the injected clock and
   * tells the slow-call breaker inside the function the circuit executes (see
   * {@link SlowCallBreaker} for why there and not through success/failure).
   */
  #attempt(
    identifier: string,
    deadline: Deadline,
    inherited: boolean,
    cancel: AbortSignal | undefined,
  ): Promise<Account<U> | null> {
    const { timeoutMs } = this.policy;
    const remainingMs = deadline.remainingMs();
    const cutByDeadline = remainingMs < timeoutMs;
    const breaker = this.#breaker;
    const slow = this.#slow;
    const run = (): Promise<Account<U> | null> =>
      withTimeout(
        cutByDeadline ? Math.max(1, Math.ceil(remainingMs)) : timeoutMs,
        this.#notify,
        async (ctx) => this.#checked(await this.provider.findAccount(identifier, ctx)),
        cutByDeadline
          ? () => this.#cutByDeadline(deadline, inherited)
          : () =>
              new ResilientAuthError(
                'PROVIDER_TIMEOUT',
                `provider "${this.name}" did not answer within ${timeoutMs} ms`,
              ),
        cancel,
      );
    // Without slowCalls the circuit runs the lookup as it is: no verdict to build.
    if (slow === undefined) return breaker.execute(run);
    return this.#timedAttempt(breaker, slow, run);
  }

  /** One attempt under a slow-call breaker: the attempt times itself and may trip the circuit while still answering. */
  async #timedAttempt(
    breaker: CircuitBreakerPolicy,
    slow: SlowCallBreaker,
    run: () => Promise<Account<U> | null>,
  ): Promise<Account<U> | null> {
    const verdict = await breaker.execute(async (): Promise<Verdict<U>> => {
      // Read as the function starts: cockatiel runs a trial while its state still says open.
      const trial = breaker.state !== CircuitState.Closed;
      const startedMs = this.clock.now();
      try {
        const account = await run();
        const nowMs = this.clock.now();
        return { account, trip: slow.record(nowMs - startedMs, nowMs, trial, true) };
      } catch (error) {
        if (!(error instanceof LookupCancelled) && !INHERITED_CUTS.has(error as object)) {
          const nowMs = this.clock.now();
          slow.record(nowMs - startedMs, nowMs, trial, false);
        }
        throw error;
      }
    });
    return verdict.account;
  }

  #cutByDeadline(deadline: Deadline, inherited: boolean): ResilientAuthError {
    const error = new ResilientAuthError(
      'DEADLINE_EXCEEDED',
      `provider "${this.name}" was cut off by the ${deadline.ms} ms deadline${inherited ? ' (earlier providers had used part of it)' : ''}`,
    );
    if (inherited) INHERITED_CUTS.add(error);
    return error;
  }

  /** Only an account or `null` is an answer; anything else (a lookup that forgot to return) could not decide. */
  #checked(answer: Account<U> | null): Account<U> | null {
    if (answer === null || (typeof answer === 'object' && answer !== undefined)) return answer;
    throw new ResilientAuthError(
      'INVALID_ANSWER',
      `provider "${this.name}" answered ${answer === undefined ? 'undefined' : typeof answer}: findAccount must resolve an account, or null for "no such account"`,
    );
  }

  /** Retry only what may succeed soon, while the breaker is closed and the backoff fits in the deadline. */
  #mayRetry(failure: Failure, delayMs: number, deadline: Deadline): boolean {
    return (
      failure.transient &&
      failure.attempts < this.policy.retry.maxAttempts &&
      this.#breaker.state === CircuitState.Closed &&
      deadline.remainingMs() > delayMs + MIN_USEFUL_ATTEMPT_MS
    );
  }

  #record(failure: Failure): void {
    this.#lastFailure = failure;
    this.#lastFailureAtMs = this.clock.now();
    this.#lastSkip = undefined;
  }

  #stateChanged(from: CircuitStateName, to: CircuitStateName): void {
    this.events.emit('onCircuitStateChange', () => ({ provider: this.name, from, to }));
  }

  #newBreaker(): CircuitBreakerPolicy {
    const options = this.policy.breaker;
    const failures: IBreaker =
      'consecutiveFailures' in options
        ? new ConsecutiveBreaker(options.consecutiveFailures)
        : new SamplingBreaker({
            threshold: options.failureRate,
            duration: options.windowMs,
            ...(options.minimumRps === undefined ? {} : { minimumRps: options.minimumRps }),
          });
    const slow = this.policy.slowCalls && new SlowCallBreaker(failures, this.policy.slowCalls);
    this.#slow = slow;
    this.#openedForSlow = undefined;
    // Everything counts but a deadline cut whose time earlier providers used
    // and a cancelled hedge; with slowCalls, an answer counts when it was too slow.
    const counted = handleWhen(
      (error) =>
        !(error instanceof LookupCancelled) &&
        (!INHERITED_CUTS.has(error) || breaker.state === CircuitState.HalfOpen),
    );
    const breaker = circuitBreaker(
      slow ? counted.orWhenResult((verdict) => (verdict as Verdict<U>).trip) : counted,
      { halfOpenAfter: 0, breaker: slow ?? failures },
    );
    let current: CircuitStateName = 'closed';
    breaker.onStateChange((state) => {
      const next = STATE_NAMES[state];
      if (breaker !== this.#breaker || next === current) return;
      if (state === CircuitState.Open) {
        this.#openedAtMs = this.clock.now();
        this.#openedForSlow = slow?.trip;
        if (slow?.trip) this.#record(this.#slowFailure(slow, slow.trip));
      } else {
        this.#openedForSlow = undefined;
      }
      // The half-open trial alone decides: nothing from before the opening counts.
      if (state === CircuitState.HalfOpen) slow?.clear();
      const from = current;
      current = next;
      this.#stateChanged(from, next);
    });
    return breaker;
  }

  /** The failure health shows when the breaker opened for slow calls: "slow", the threshold, the share seen. */
  #slowFailure(slow: SlowCallBreaker, trip: SlowCallTrip): Failure {
    return failureOf(
      this.name,
      new ResilientAuthError(
        'CIRCUIT_OPEN',
        `provider "${this.name}" circuit breaker opened for slow calls: ${slow.describe(trip)}`,
      ),
      { attempts: 0, durationMs: 0 },
    );
  }
}

/** Exponential backoff with jitter: between half and all of `baseDelayMs · 2^(attempt-1)`, capped. */
function backoffMs(retry: ResolvedPolicy['retry'], attempt: number): number {
  const ceilingMs = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
  return ceilingMs * (0.5 + Math.random() / 2);
}

function attemptEvent(
  { attempts, skipped: _skipped, ...failure }: Failure,
  willRetry: boolean,
  { call, context, shadow }: CallScope,
): ProviderFailureEvent {
  return {
    ...failure,
    attempt: attempts,
    willRetry,
    ...(shadow !== undefined && { shadow }),
    call,
    context,
  };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal === undefined) return new Promise((resolve) => setTimeout(resolve, ms));
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (signal.aborted) done();
    else signal.addEventListener('abort', done, { once: true });
  });
}
