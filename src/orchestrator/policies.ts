import { performance } from 'node:perf_hooks';
import {
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  type IBackoff,
  type IDisposable,
  isBrokenCircuitError,
  retry,
  SamplingBreaker,
  TaskCancelledError,
  type TimeoutPolicy,
  TimeoutStrategy,
  timeout,
} from 'cockatiel';
import { errorCode, failureKind, isTransientError, safeMessage } from '../errors/classify.js';
import { type FailureKind, type ProviderFailure, ResilientAuthError } from '../errors/errors.js';
import type { CircuitStateName } from '../hooks/events.js';
import type { Account, AuthProvider, ProviderNotice } from '../providers/provider.js';
import type { Clock } from './clock.js';
import type { Deadline } from './deadline.js';
import type { ResolvedPolicy } from './options.js';

/** A failed attempt, as the slot reports it to the orchestrator for hooks. */
export interface AttemptFailure {
  readonly provider: string;
  readonly error: unknown;
  readonly code: string | undefined;
  readonly kind: FailureKind;
  readonly message: string;
  readonly attempt: number;
  readonly willRetry: boolean;
  readonly transient: boolean;
  readonly durationMs: number;
}

/** What one provider said within one call. */
export type LookupOutcome<U> =
  | { readonly ok: true; readonly account: Account<U> | null }
  | { readonly ok: false; readonly failure: ProviderFailure };

/** The last failure or success a slot saw, for `health()`. */
export interface SlotRecord {
  readonly message: string;
  readonly code: string | undefined;
  readonly kind: FailureKind;
  readonly atMs: number;
}

// Below this much time left, a retry cannot do useful work: fail over instead.
const MIN_USEFUL_ATTEMPT_MS = 5;

const STATE_NAMES: Record<CircuitState, CircuitStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

/**
 * One provider with its policies: `retry(breaker(timeout(lookup)))` built with
 * cockatiel, plus what health needs to know about it.
 *
 * Half-open timing runs on the injected clock: cockatiel's own breaker is told
 * to allow a trial at once (`halfOpenAfter: 0`), and {@link skipReason} holds
 * calls back until `halfOpenAfterMs` has passed on the clock. While the trial
 * is in flight, other calls skip this provider instead of waiting on it.
 */
export class ProviderSlot<U> {
  readonly name: string;
  lastFailure: SlotRecord | undefined;
  lastSuccessAtMs: number | undefined;
  #breaker: CircuitBreakerPolicy;
  #isolation: IDisposable | undefined;
  #openedAtMs = 0;
  readonly #timeout: TimeoutPolicy;

  constructor(
    readonly provider: AuthProvider<U>,
    readonly policy: ResolvedPolicy,
    private readonly clock: Clock,
    private readonly onStateChange: (from: CircuitStateName, to: CircuitStateName) => void,
  ) {
    this.name = provider.name;
    this.#timeout = timeoutPolicy(policy.timeoutMs);
    this.#breaker = this.#newBreaker();
  }

  /** The breaker's state as health reports it. */
  get state(): CircuitStateName {
    return STATE_NAMES[this.#breaker.state];
  }

  /** Why this provider must not be called now, or `undefined` when it may be. */
  skipReason(): ProviderFailure['skipped'] {
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
    if (from !== 'closed') this.onStateChange(from, 'closed');
  }

  /** Looks `identifier` up within the deadline, retrying transient failures. */
  async lookup(
    identifier: string,
    deadline: Deadline,
    onFailure: ((failure: AttemptFailure) => void) | undefined,
    notify: ((notice: ProviderNotice) => void) | undefined,
  ): Promise<LookupOutcome<U>> {
    const started = performance.now();
    const { maxAttempts, baseDelayMs, maxDelayMs } = this.policy.retry;
    let attempts = 0;
    let nextDelayMs = 0;

    const shouldRetry = (error: unknown): boolean => {
      const transient = isTransientError(error);
      nextDelayMs =
        Math.min(maxDelayMs, baseDelayMs * 2 ** (attempts - 1)) * (0.5 + Math.random() / 2);
      const willRetry =
        transient &&
        attempts < maxAttempts &&
        this.#breaker.state === CircuitState.Closed &&
        deadline.remainingMs() > nextDelayMs + MIN_USEFUL_ATTEMPT_MS;
      onFailure?.({
        provider: this.name,
        error,
        code: failureCode(error),
        kind: failureKind(error),
        message: safeMessage(error),
        attempt: attempts,
        willRetry,
        transient,
        durationMs: performance.now() - started,
      });
      return willRetry;
    };

    const backoff: IBackoff<unknown> = {
      get duration() {
        return nextDelayMs;
      },
      next: () => backoff,
    };
    const attempt = () => {
      attempts++;
      // The attempt's timeout is capped at the time left before the deadline.
      const remainingMs = deadline.remainingMs();
      const cutByDeadline = remainingMs < this.policy.timeoutMs;
      const limit = cutByDeadline
        ? timeoutPolicy(Math.max(1, Math.ceil(remainingMs)))
        : this.#timeout;
      return this.#breaker.execute(() =>
        limit
          .execute(({ signal }) => this.provider.findAccount(identifier, { signal, notify }))
          .catch((error: unknown) => {
            throw this.#explainCancellation(error, cutByDeadline ? deadline : undefined);
          }),
      );
    };

    try {
      const account = await retry(handleWhen(shouldRetry), {
        maxAttempts: maxAttempts - 1,
        backoff,
      }).execute(attempt);
      this.lastSuccessAtMs = this.clock.now();
      return { ok: true, account: account ?? null };
    } catch (error) {
      const { code, kind, message } = this.#recordFailure(error);
      return {
        ok: false,
        failure: {
          provider: this.name,
          code,
          kind,
          message,
          error,
          attempts,
          durationMs: performance.now() - started,
        },
      };
    }
  }

  /**
   * Runs the provider's `check()` under the attempt timeout, without touching
   * the breaker. Resolves the failure it recorded, or `undefined` when it passed.
   */
  async probe(
    notify: ((notice: ProviderNotice) => void) | undefined,
  ): Promise<SlotRecord | undefined> {
    const check = this.provider.check;
    if (!check) return undefined;
    try {
      await this.#timeout.execute(({ signal }) => check.call(this.provider, { signal, notify }));
      this.lastSuccessAtMs = this.clock.now();
      return undefined;
    } catch (error) {
      return this.#recordFailure(this.#explainCancellation(error, undefined, 'check'));
    }
  }

  /** Remembers a failure for `health()` and returns it. */
  #recordFailure(error: unknown): SlotRecord {
    this.lastFailure = {
      message: safeMessage(error),
      code: failureCode(error),
      kind: failureKind(error),
      atMs: this.clock.now(),
    };
    return this.lastFailure;
  }

  /**
   * A timeout as the library's own error: DEADLINE_EXCEEDED when the attempt
   * was capped by the call's deadline, PROVIDER_TIMEOUT otherwise.
   * (cockatiel 3.2's isTaskCancelledError() tests the wrong marker property,
   * 'isBulkheadRejectedError', hence instanceof.)
   */
  #explainCancellation(
    error: unknown,
    deadline: Deadline | undefined,
    what: 'lookup' | 'check' = 'lookup',
  ): unknown {
    if (!(error instanceof TaskCancelledError)) return error;
    if (deadline) {
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
      this.onStateChange(from, next);
    });
    return breaker;
  }
}

/** Aggressive: the call is abandoned (and its signal aborted) when the time is up. */
function timeoutPolicy(ms: number): TimeoutPolicy {
  // abortOnReturn would abort, and so allocate a DOMException, on every successful call.
  return timeout(ms, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false });
}

function failureCode(error: unknown): string | undefined {
  if (isBrokenCircuitError(error)) return 'CIRCUIT_OPEN';
  return errorCode(error);
}
