import { performance } from 'node:perf_hooks';
import {
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  type IDisposable,
  SamplingBreaker,
  TaskCancelledError,
  type TimeoutPolicy,
  TimeoutStrategy,
  timeout,
} from 'cockatiel';
import { classify } from '../errors/classify.js';
import { type Failure, ResilientAuthError, type SkipReason } from '../errors/errors.js';
import type { EventSink } from '../hooks/dispatch.js';
import type { CircuitStateName, ProviderFailureEvent, RequestContext } from '../hooks/events.js';
import type { Account, AuthProvider, ProviderNotice } from '../providers/provider.js';
import type { Clock } from './clock.js';
import type { Deadline } from './deadline.js';
import type { ResolvedPolicy } from './options.js';

/** What one provider said within one call. */
export type Lookup<U> =
  | { readonly ok: true; readonly account: Account<U> | null }
  | { readonly ok: false; readonly failure: Failure };

// Below this much time left, a retry cannot do useful work: fail over instead.
const MIN_USEFUL_ATTEMPT_MS = 5;

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
 * One provider with its policies: a circuit breaker and an aggressive timeout
 * (cockatiel), built once, run by an explicit attempt loop that retries
 * transient failures with backoff; plus what health needs to know about it.
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
  #breaker: CircuitBreakerPolicy;
  #isolation: IDisposable | undefined;
  #openedAtMs = 0;
  readonly #timeout: TimeoutPolicy;
  readonly #notify: (notice: ProviderNotice) => void;

  constructor(
    readonly provider: AuthProvider<U>,
    readonly policy: ResolvedPolicy,
    private readonly clock: Clock,
    private readonly events: EventSink,
  ) {
    this.name = provider.name;
    // abortOnReturn would abort, and so allocate a DOMException, on every successful call.
    this.#timeout = timeout(policy.timeoutMs, {
      strategy: TimeoutStrategy.Aggressive,
      abortOnReturn: false,
    });
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
    const { code, why } = SKIPPED[reason];
    const last = this.#lastFailure?.code;
    const message = `provider "${this.name}" skipped: ${why}${last ? ` (last failure code ${last})` : ''}`;
    return this.#failure(new ResilientAuthError(code, message), 0, 0, reason);
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
    this.#breaker = this.#newBreaker();
    if (from !== 'closed') this.#stateChanged(from, 'closed');
  }

  /** Looks `identifier` up within the deadline, retrying transient failures. */
  async lookup(
    identifier: string,
    deadline: Deadline,
    context: RequestContext,
  ): Promise<Lookup<U>> {
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      try {
        const account = await this.#attempt(identifier, deadline);
        this.#lastSuccessAtMs = this.clock.now();
        return { ok: true, account: account ?? null };
      } catch (error) {
        const failure = this.#failure(error, attempt, performance.now() - started);
        const delayMs = backoffMs(this.policy.retry, attempt);
        const willRetry = this.#mayRetry(failure, delayMs, deadline);
        this.events.emit('onProviderFailure', () => attemptEvent(failure, willRetry, context));
        if (!willRetry) {
          this.#record(failure);
          return { ok: false, failure };
        }
        await sleep(delayMs);
      }
    }
  }

  /**
   * Runs the provider's `check()` under the attempt timeout, without touching
   * the breaker. Resolves the failure it recorded, or `undefined` when it passed.
   */
  async probe(): Promise<Failure | undefined> {
    const check = this.provider.check;
    if (!check) return undefined;
    const started = performance.now();
    try {
      await this.#timeout.execute(({ signal }) =>
        check.call(this.provider, { signal, notify: this.#notify }),
      );
      this.#lastSuccessAtMs = this.clock.now();
      return undefined;
    } catch (error) {
      const failure = this.#failure(
        this.#explainCancellation(error, undefined, 'check'),
        1,
        performance.now() - started,
      );
      this.#record(failure);
      return failure;
    }
  }

  /** One attempt: the provider's lookup under the breaker and the timeout, cut at the deadline. */
  #attempt(identifier: string, deadline: Deadline): Promise<Account<U> | null> {
    const deadlineSignal = deadline.signalBefore(this.policy.timeoutMs);
    return this.#breaker.execute(() =>
      this.#timeout
        .execute(
          ({ signal }) => this.provider.findAccount(identifier, { signal, notify: this.#notify }),
          deadlineSignal,
        )
        .catch((error: unknown) => {
          throw this.#explainCancellation(error, deadline);
        }),
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

  /** The one place an error becomes a {@link Failure}: classified once. */
  #failure(error: unknown, attempts: number, durationMs: number, skipped?: SkipReason): Failure {
    return {
      provider: this.name,
      ...classify(error),
      attempts,
      durationMs,
      ...(skipped && { skipped }),
      error,
    };
  }

  #record(failure: Failure): void {
    this.#lastFailure = failure;
    this.#lastFailureAtMs = this.clock.now();
  }

  /**
   * A timeout as the library's own error: DEADLINE_EXCEEDED when the call's
   * deadline cut the attempt, PROVIDER_TIMEOUT otherwise.
   * (cockatiel 3.2's isTaskCancelledError() tests the wrong marker property,
   * 'isBulkheadRejectedError', hence instanceof.)
   */
  #explainCancellation(
    error: unknown,
    deadline: Deadline | undefined,
    what: 'lookup' | 'check' = 'lookup',
  ): unknown {
    if (!(error instanceof TaskCancelledError)) return error;
    if (deadline?.passed) {
      return new ResilientAuthError(
        'DEADLINE_EXCEEDED',
        `provider "${this.name}" was cut off by the ${deadline.ms} ms deadline`,
        { cause: error },
      );
    }
    const subject = what === 'check' ? `provider "${this.name}" check` : `provider "${this.name}"`;
    return new ResilientAuthError(
      'PROVIDER_TIMEOUT',
      `${subject} did not answer within ${this.policy.timeoutMs} ms`,
      { cause: error },
    );
  }

  #stateChanged(from: CircuitStateName, to: CircuitStateName): void {
    this.events.emit('onCircuitStateChange', () => ({ provider: this.name, from, to }));
  }

  #newBreaker(): CircuitBreakerPolicy {
    const options = this.policy.breaker;
    const breaker = circuitBreaker(
      // A call cut short by the overall deadline says little about this provider
      // (earlier ones may have used the time), except during a half-open trial.
      handleWhen(
        (error) =>
          !(error instanceof ResilientAuthError && error.code === 'DEADLINE_EXCEEDED') ||
          breaker.state === CircuitState.HalfOpen,
      ),
      {
        halfOpenAfter: 0,
        breaker:
          'consecutiveFailures' in options
            ? new ConsecutiveBreaker(options.consecutiveFailures)
            : new SamplingBreaker({
                threshold: options.failureRate,
                duration: options.windowMs,
                ...(options.minimumRps === undefined ? {} : { minimumRps: options.minimumRps }),
              }),
      },
    );
    let current: CircuitStateName = 'closed';
    breaker.onStateChange((state) => {
      const next = STATE_NAMES[state];
      if (breaker !== this.#breaker || next === current) return;
      if (state === CircuitState.Open) this.#openedAtMs = this.clock.now();
      const from = current;
      current = next;
      this.#stateChanged(from, next);
    });
    return breaker;
  }
}

/** Exponential backoff with jitter: between half and all of `baseDelayMs · 2^(attempt-1)`, capped. */
function backoffMs(retry: ResolvedPolicy['retry'], attempt: number): number {
  const ceilingMs = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
  return ceilingMs * (0.5 + Math.random() / 2);
}

function attemptEvent(
  { attempts, skipped: _skipped, error: _error, ...failure }: Failure,
  willRetry: boolean,
  context: RequestContext,
): ProviderFailureEvent {
  return { ...failure, attempt: attempts, willRetry, context };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
