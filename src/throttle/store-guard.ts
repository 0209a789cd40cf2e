import {
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleAll,
  type IPolicy,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import { safeMessage } from '../errors/classify.js';
import type { ThrottleStoreName } from '../hooks/events.js';

/** Told when the shared store starts failing and when it answers again; each edge once. */
export interface ThrottleNotifier {
  /** The store failed or timed out; counts come from this process's memory until it answers. `message` is redacted. */
  storeFailed(store: ThrottleStoreName, message: string): void;
  /** The store answers again after {@link storeFailed}. */
  storeRecovered(store: ThrottleStoreName): void;
}

/**
 * Every call to a shared store goes through here: bounded by a timeout, and
 * behind a circuit breaker that opens at the first failure, so that while the
 * store is down or hung the limits are counted in memory at no cost, and one
 * call tries the store again every `retryMs` (the others do not wait for it).
 * The notifier hears the edges.
 */
export class StoreGuard {
  readonly #store: ThrottleStoreName;
  readonly #notifier: ThrottleNotifier;
  readonly #breaker: CircuitBreakerPolicy;
  readonly #policy: IPolicy;
  readonly #prepare: () => Promise<void>;
  readonly #inFlight = new Set<Promise<unknown>>();
  #failing = false;
  #closed = false;

  constructor(
    store: ThrottleStoreName,
    options: {
      readonly timeoutMs: number;
      readonly retryMs: number;
      /** Runs before each call, inside its timeout (creating the table once, say). */
      readonly prepare?: () => Promise<void>;
    },
    notifier: ThrottleNotifier,
  ) {
    this.#store = store;
    this.#notifier = notifier;
    this.#prepare = options.prepare ?? (() => Promise.resolve());
    const breaker = circuitBreaker(handleAll, {
      halfOpenAfter: options.retryMs,
      breaker: new ConsecutiveBreaker(1),
    });
    breaker.onBreak((reason) => {
      const error = 'error' in reason ? reason.error : undefined;
      this.#edge(true, () =>
        // Not cockatiel's isTaskCancelledError: in 3.2.1 it tests for a bulkhead error instead.
        error instanceof TaskCancelledError
          ? `${store} store did not answer within ${options.timeoutMs} ms`
          : safeMessage(error),
      );
    });
    breaker.onReset(() => this.#edge(false, () => ''));
    this.#breaker = breaker;
    this.#policy = wrap(breaker, timeout(options.timeoutMs, TimeoutStrategy.Aggressive));
  }

  /**
   * Runs `call` on the store. Resolves `undefined` when the store could not
   * answer (failed, timed out, skipped while the breaker is open, or closed):
   * the caller counts in memory instead. Never rejects.
   */
  run<T>(call: () => Promise<T>): Promise<T | undefined> {
    // While one call tries the store again, the others count in memory rather than wait on it.
    if (this.#closed || this.#breaker.state === CircuitState.HalfOpen) {
      return Promise.resolve(undefined);
    }
    // A signal of its own: cockatiel's default one is shared, and gathers a listener per call in flight.
    const running = this.#policy
      .execute(() => this.#prepare().then(call), new AbortController().signal)
      .catch(() => undefined);
    this.#inFlight.add(running);
    void running.finally(() => this.#inFlight.delete(running));
    return running;
  }

  /** Stops using the store, after the calls in flight finished (each is bounded by the timeout). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#inFlight);
  }

  #edge(failing: boolean, message: () => string): void {
    if (this.#failing === failing) return;
    this.#failing = failing;
    try {
      if (failing) this.#notifier.storeFailed(this.#store, message());
      else this.#notifier.storeRecovered(this.#store);
    } catch {
      // The notifier is hook dispatch, which reports its own failures; it must not fail a login.
    }
  }
}
