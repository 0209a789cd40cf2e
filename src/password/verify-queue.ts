import { z } from 'zod';
import { ResilientAuthError } from '../errors/errors.js';
import { parseFactoryOptions } from '../errors/factory-options.js';

/** Options of {@link VerifyQueue}. */
export interface VerifyQueueOptions {
  /** Tasks running at once: the verifier's threads. An integer from 1. */
  readonly concurrency: number;
  /** Tasks allowed to wait for a slot; past it, `run` rejects with `OVERLOADED` at once. An integer from 0, or `Infinity`. */
  readonly maxQueue: number;
  /** What is verified, for messages, e.g. `'bcrypt'`. */
  readonly name: string;
}

const optionsSchema = z.strictObject({
  concurrency: z.number().int().min(1),
  maxQueue: z.union([z.number().int().min(0), z.literal(Number.POSITIVE_INFINITY)]),
  name: z.string().min(1).max(100),
});

// setTimeout fires at once past this; a longer bound is no bound.
const LONGEST_TIMER_MS = 2_147_483_647;
// Weights of the newest run in the average and in the mean deviation, and the
// deviations a task's own run is padded by: TCP's retransmission timeout (RFC 6298).
const MEAN_WEIGHT = 1 / 8;
const DEVIATION_WEIGHT = 1 / 4;
const DEVIATIONS = 4;
// The queue is long past this many waiting tasks per slot.
const LONG_PER_SLOT = 4;
// A queue that has not been empty for this many run times is standing.
const STANDING_RUNS = 10;

/** One task waiting for a slot, linked both ways so it can leave from either end or the middle. */
interface Waiter {
  readonly start: () => void;
  readonly reject: (error: unknown) => void;
  /** When its bound ends (`performance.now()` time); Infinity without a bound. */
  readonly deadline: number;
  timer: NodeJS.Timeout | undefined;
  newer: Waiter | undefined;
  older: Waiter | undefined;
}

/**
 * An admission queue in front of an async verification (a worker pool, a
 * native hash): at most `concurrency` tasks run at once, and a task that
 * cannot start in time is refused at once with a {@link ResilientAuthError}
 * of code `OVERLOADED` rather than queued long after its caller gave up (shed,
 * don't queue). Every verifier of this library uses one.
 *
 * Admission. A task with a bound is admitted only when it is expected to
 * start, and to finish, within it: the estimate is the average run time so
 * far (weighted towards recent runs) times the tasks ahead per slot, plus one
 * run. Callers pass what is left of a deadline, and a check that ends after
 * it is wasted work. Refusals are therefore answered at once, not after the
 * bound; the timer that rejects a task still waiting when its bound passes is
 * the exception, for when runs got slower than estimated.
 *
 * Order: adaptive LIFO (Facebook's "Fail at scale", Netflix's
 * concurrency-limits). While at most 4 tasks per slot wait, the queue is
 * first come, first served. Past that it is long, and the newest task starts
 * first: the oldest are the likeliest to miss their bound or to have been
 * given up on, while the newest can still be answered in time, so an overload
 * cannot make every caller late. A newcomer that would start first is only
 * admitted when the oldest waiting task would still start in time behind it,
 * so reordering never makes a task miss a bound it was admitted under. A task
 * without a bound is never served out of order (it cannot expire, so it could
 * wait forever). The threshold, 4 per slot, is a few run times of queueing:
 * enough to keep every slot busy between arrivals, small enough to add little
 * latency.
 *
 * Standing queue (after CoDel). When the queue has not been empty for 10 run
 * times, the overload is not a burst: while it is long, it then refuses every
 * newcomer with a bound at once, because more waiting would add latency, not
 * throughput (a few tasks per slot keep every slot busy). It ends when the
 * queue empties.
 *
 * @example
 * ```ts
 * const queue = new VerifyQueue({ concurrency: 4, maxQueue: 4096, name: 'bcrypt' });
 * const matches = await queue.run(() => pool.run({ password, hash }), remainingMs);
 * ```
 */
export class VerifyQueue {
  readonly #concurrency: number;
  readonly #maxQueue: number;
  readonly #name: string;
  readonly #longAfter: number;
  #running = 0;
  #waiting = 0;
  #oldest: Waiter | undefined;
  #newest: Waiter | undefined;
  #closed = false;
  /** Weighted average run time in ms; undefined until a task finished. */
  #runMs: number | undefined;
  /** Weighted mean deviation of the run time from the average. */
  #runDeviationMs = 0;
  /** Since when some task has been waiting; undefined while none is. */
  #busySince: number | undefined;

  constructor(options: VerifyQueueOptions) {
    const parsed = parseFactoryOptions('verifyQueue', optionsSchema, options);
    this.#concurrency = parsed.concurrency;
    this.#maxQueue = parsed.maxQueue;
    this.#name = parsed.name;
    this.#longAfter = LONG_PER_SLOT * this.#concurrency;
  }

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Tasks running now. */
  get running(): number {
    return this.#running;
  }

  /**
   * Runs `task` when a slot is free. Rejects with ResilientAuthError code
   * 'OVERLOADED' at once when it cannot start within maxWaitMs (undefined:
   * no bound) or the queue is full; and rejects OVERLOADED if still waiting
   * when maxWaitMs passes.
   *
   * With `maxWaitMs` 0 (or less) a task runs only if a slot is free now. A
   * free slot always takes the task, whatever its bound. A bound past
   * `setTimeout`'s range (about 24.8 days) counts as none. See the class for
   * how the wait is estimated and in which order waiting tasks start.
   */
  run<T>(task: () => Promise<T>, maxWaitMs?: number): Promise<T> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (this.#running < this.#concurrency && this.#waiting === 0) return this.#start(task);
    const bound = maxWaitMs !== undefined && maxWaitMs < LONGEST_TIMER_MS ? maxWaitMs : undefined;
    const refusal = this.#refusal(bound);
    if (refusal !== undefined) return Promise.reject(this.#overloaded(refusal));
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          this.#start(task).then(resolve, reject);
        },
        reject,
        deadline: bound === undefined ? Number.POSITIVE_INFINITY : performance.now() + bound,
        timer: undefined,
        newer: undefined,
        older: undefined,
      };
      if (bound !== undefined) {
        waiter.timer = setTimeout(() => {
          this.#remove(waiter);
          reject(this.#overloaded(`no thread was free within ${Math.round(bound)} ms`));
        }, bound);
        waiter.timer.unref();
      }
      this.#push(waiter);
    });
  }

  /** Rejects every waiting task with code 'CLOSED' and refuses later ones. */
  close(): void {
    this.#closed = true;
    for (let waiter = this.#oldest; waiter !== undefined; waiter = this.#oldest) {
      this.#remove(waiter);
      waiter.reject(this.#closedError());
    }
  }

  /** Why a task with this bound cannot wait here, or undefined when it may. */
  #refusal(maxWaitMs: number | undefined): string | undefined {
    if (this.#waiting >= this.#maxQueue) return `the queue is full (${this.#maxQueue} waiting)`;
    if (maxWaitMs === undefined) return undefined;
    // NaN and negative bounds are read as 0.
    if (!(maxWaitMs > 0)) return 'no thread is free now and it may not wait';
    const long = this.#waiting >= this.#longAfter;
    if (long && this.#standing()) {
      return `verifications have arrived faster than they finish for a while (${this.#waiting} waiting)`;
    }
    if (this.#runMs === undefined) {
      // No run has finished yet (a cold start under a burst): nothing to estimate
      // from, so no more than a long queue's worth waits, and the rest is refused now.
      return long ? `${this.#waiting} waiting before any check finished` : undefined;
    }
    // Served after every task waiting now (first come, first served), plus its
    // own run, padded as TCP pads a round trip: a run can be slower than average.
    const doneInMs =
      (this.#runMs * (this.#waiting + 1)) / this.#concurrency +
      this.#runMs +
      DEVIATIONS * this.#runDeviationMs;
    if (doneInMs > maxWaitMs) {
      return `about ${Math.round(doneInMs)} ms to check it (${this.#waiting} waiting) exceeds the ${Math.round(maxWaitMs)} ms it may wait`;
    }
    // Long: it would start first, pushing back the oldest, which must still make it.
    const oldest = long ? this.#oldestBounded() : undefined;
    if (oldest !== undefined && performance.now() + doneInMs > oldest.deadline) {
      return `${this.#waiting} waiting could no longer start in time behind it`;
    }
    return undefined;
  }

  #standing(): boolean {
    return (
      this.#busySince !== undefined &&
      this.#runMs !== undefined &&
      performance.now() - this.#busySince >= STANDING_RUNS * this.#runMs
    );
  }

  #oldestBounded(): Waiter | undefined {
    let waiter = this.#oldest;
    while (waiter !== undefined && waiter.deadline === Number.POSITIVE_INFINITY) {
      waiter = waiter.newer;
    }
    return waiter;
  }

  async #start<T>(task: () => Promise<T>): Promise<T> {
    this.#running++;
    const started = performance.now();
    try {
      return await task();
    } finally {
      this.#ran(performance.now() - started);
      this.#running--;
      this.#next();
    }
  }

  #ran(ms: number): void {
    if (this.#runMs === undefined) {
      this.#runMs = ms;
      this.#runDeviationMs = ms / 2;
      return;
    }
    this.#runDeviationMs += DEVIATION_WEIGHT * (Math.abs(ms - this.#runMs) - this.#runDeviationMs);
    this.#runMs += MEAN_WEIGHT * (ms - this.#runMs);
  }

  /** Starts waiting tasks while slots are free: the newest when the queue is long, else the oldest. */
  #next(): void {
    while (this.#running < this.#concurrency && !this.#closed) {
      const newest = this.#newest;
      if (newest === undefined) return;
      const lifo = this.#waiting > this.#longAfter && newest.deadline !== Number.POSITIVE_INFINITY;
      const waiter = lifo ? newest : (this.#oldest as Waiter);
      this.#remove(waiter);
      waiter.start();
    }
  }

  #push(waiter: Waiter): void {
    waiter.older = this.#newest;
    if (this.#newest) this.#newest.newer = waiter;
    else this.#oldest = waiter;
    this.#newest = waiter;
    this.#waiting++;
    this.#busySince ??= performance.now();
  }

  #remove(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    if (waiter.older) waiter.older.newer = waiter.newer;
    else this.#oldest = waiter.newer;
    if (waiter.newer) waiter.newer.older = waiter.older;
    else this.#newest = waiter.older;
    waiter.newer = undefined;
    waiter.older = undefined;
    this.#waiting--;
    if (this.#waiting === 0) this.#busySince = undefined;
  }

  #overloaded(why: string): ResilientAuthError {
    return new ResilientAuthError(
      'OVERLOADED',
      `${this.#name} verification overloaded: ${why}; raise threads, scale out, or throttle logins`,
    );
  }

  #closedError(): ResilientAuthError {
    return new ResilientAuthError('CLOSED', `the ${this.#name} verifier is closed`);
  }
}
