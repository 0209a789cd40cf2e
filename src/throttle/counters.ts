import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { errorCode } from '../errors/classify.js';
import type { ThrottleStoreName } from '../hooks/events.js';
import { StoreGuard, type ThrottleNotifier } from './store-guard.js';
import {
  DEFAULT_THROTTLE,
  type ResolvedThrottleOptions,
  type ThrottlePgPool,
  type ThrottleStoreOptions,
  throttleTable,
} from './throttle-options.js';
import { throttleSchemaSql } from './throttle-schema.js';

/**
 * The count of a blocked key: far above any limit, so that a refusal can tell
 * a block from a budget that attempts in flight fill (rate-limiter-flexible's
 * own `block()` sets the limit plus one, which they reach too).
 */
export const BLOCKED_COUNT = 1_000_000_000;

/** Which limiter answered: the shared store, or this process's memory. */
export type Side = 'shared' | 'memory';

/** A counter's state after one of its points was taken. */
export interface Count {
  /** Points counted in the window, this one included. */
  readonly consumed: number;
  /** Time until the key expires (the window or block ends). */
  readonly msBeforeNext: number;
  /** Where the point was taken: give it back there. */
  readonly side: Side;
}

/** One counter of the throttle, as rate-limiter-flexible limits it. */
export interface CounterSpec {
  /** Part of the key prefix, e.g. `consecutive`. */
  readonly name: string;
  readonly points: number;
  readonly durationSec: number;
}

/** A limiter on the shared store, with the guard every call to it goes through. */
interface Shared {
  readonly limiter: RateLimiterAbstract;
  readonly guard: StoreGuard;
}

/**
 * One limit's counter: in the shared store when there is one, in this
 * process's memory when there is none or when the store cannot answer.
 *
 * What the store answers is mirrored in memory, so that when the store fails
 * the counts this process has seen carry on from where they were, rather than
 * from nothing. What memory counts meanwhile is not written back. Every method
 * resolves; none rejects.
 */
export class Counter {
  readonly #shared: Shared | undefined;
  readonly #memory: RateLimiterMemory;

  constructor(shared: Shared | undefined, memory: RateLimiterMemory) {
    this.#shared = shared;
    this.#memory = memory;
  }

  /** The count of `key` without changing it; `null` when it has none. */
  async peek(key: string): Promise<Omit<Count, 'side'> | null> {
    const shared = await this.#onShared(async (limiter) => ({ res: await limiter.get(key) }));
    let res: RateLimiterRes | null;
    if (shared !== undefined) {
      res = shared.res;
      if (res === null) void this.#memory.delete(key);
      else this.#mirror(key, res);
    } else {
      res = await this.#memory.get(key);
    }
    return res === null || res.msBeforeNext <= 0 ? null : countOf(res);
  }

  /** Takes one point; `durationSec` sets the window of a key this creates. */
  async take(key: string, durationSec?: number): Promise<Count> {
    const options = durationSec === undefined ? {} : { customDuration: durationSec };
    const shared = await this.#onShared((limiter) =>
      limiter.consume(key, 1, options).catch(overLimit),
    );
    if (shared !== undefined) {
      this.#mirror(key, shared);
      return { ...countOf(shared), side: 'shared' };
    }
    return {
      ...countOf(await this.#memory.consume(key, 1, options).catch(overLimit)),
      side: 'memory',
    };
  }

  /**
   * Gives back a point taken on `side`. Lost when the shared store cannot
   * answer: giving it back in memory instead would leave memory a point short.
   */
  async giveBack(key: string, side: Side): Promise<void> {
    if (side === 'memory') {
      await reward(this.#memory, key);
      return;
    }
    const res = await this.#onShared((limiter) => reward(limiter, key));
    if (res !== undefined) this.#mirror(key, res);
  }

  /**
   * Blocks `key` for `seconds`: its count becomes {@link BLOCKED_COUNT}. In
   * memory too, so that the block holds when the shared store cannot answer.
   */
  async block(key: string, seconds: number, side: Side): Promise<void> {
    await this.#memory.set(key, BLOCKED_COUNT, seconds);
    if (side === 'shared')
      await this.#onShared((limiter) => limiter.set(key, BLOCKED_COUNT, seconds));
  }

  /** Deletes `key` in memory, and on the shared store when `side` is `shared`. */
  async delete(key: string, side: Side): Promise<void> {
    await this.#memory.delete(key);
    if (side === 'shared') await this.#onShared((limiter) => limiter.delete(key));
  }

  /** Deletes `key` everywhere: a reset must not leave an old count behind in either place. */
  async reset(key: string): Promise<void> {
    await this.delete(key, 'shared');
  }

  #onShared<T>(call: (limiter: RateLimiterAbstract) => Promise<T>): Promise<T | undefined> {
    const shared = this.#shared;
    return shared === undefined
      ? Promise.resolve(undefined)
      : shared.guard.run(() => call(shared.limiter));
  }

  #mirror(key: string, res: RateLimiterRes): void {
    if (res.msBeforeNext > 0) {
      void this.#memory.set(key, res.consumedPoints, Math.ceil(res.msBeforeNext / 1000));
    } else {
      void this.#memory.delete(key);
    }
  }
}

/** rate-limiter-flexible rejects with a RateLimiterRes over the limit: here that is a count like any other. */
function overLimit(reason: unknown): RateLimiterRes {
  if (reason instanceof RateLimiterRes) return reason;
  throw reason;
}

function countOf(res: RateLimiterRes): Omit<Count, 'side'> {
  return { consumed: res.consumedPoints, msBeforeNext: Math.max(0, Math.round(res.msBeforeNext)) };
}

/** Gives one point back; a key the reward would leave negative (it expired or was reset meanwhile) is deleted. */
async function reward(limiter: RateLimiterAbstract, key: string): Promise<RateLimiterRes> {
  const res = await limiter.reward(key, 1);
  if (res.consumedPoints >= 0) return res;
  await limiter.delete(key);
  return new RateLimiterRes(0, 0, 0);
}

/** Where the counters live, and how to make one. */
export interface CounterStore {
  readonly name: ThrottleStoreName;
  counter(spec: CounterSpec): Counter;
  close(): Promise<void>;
}

// Rows that expired over an hour ago are deleted every 5 minutes, as RateLimiterPostgres does.
const CLEAR_EXPIRED_EVERY_MS = 300_000;
const CLEAR_EXPIRED_AFTER_MS = 3_600_000;

/** Builds the store the options name, with its memory fallback, its guard and its housekeeping. */
export function counterStore(
  options: ResolvedThrottleOptions,
  notifier: ThrottleNotifier,
): CounterStore {
  const { store, keyPrefix } = options;
  const memoryLimiter = (spec: CounterSpec) =>
    new RateLimiterMemory({
      keyPrefix: `${keyPrefix}:${spec.name}`,
      points: spec.points,
      duration: spec.durationSec,
    });
  if (store.type === 'memory') {
    return {
      name: 'memory',
      counter: (spec) => new Counter(undefined, memoryLimiter(spec)),
      close: () => Promise.resolve(),
    };
  }
  const shared = sharedLimiters(store, keyPrefix);
  const guard = new StoreGuard(
    store.type,
    { timeoutMs: options.storeTimeoutMs, retryMs: options.storeRetryMs, prepare: shared.prepare },
    notifier,
  );
  return {
    name: store.type,
    counter: (spec) => new Counter({ limiter: shared.limiter(spec), guard }, memoryLimiter(spec)),
    async close() {
      shared.stop();
      await guard.close();
    },
  };
}

interface SharedLimiters {
  limiter(spec: CounterSpec): RateLimiterAbstract;
  prepare?: () => Promise<void>;
  stop(): void;
}

function sharedLimiters(
  store: Exclude<ThrottleStoreOptions, { type: 'memory' }>,
  keyPrefix: string,
): SharedLimiters {
  const base = (spec: CounterSpec) => ({
    keyPrefix: `${keyPrefix}:${spec.name}`,
    points: spec.points,
    duration: spec.durationSec,
  });
  if (store.type === 'redis') {
    const { client } = store;
    return {
      limiter: (spec) =>
        new RateLimiterRedis({
          ...base(spec),
          storeClient: client,
          useRedisPackage: !(
            'defineCommand' in client && typeof client.defineCommand === 'function'
          ),
          // Fail over at once while disconnected, rather than queue behind the reconnection.
          rejectIfRedisNotReady: true,
        }),
      stop: () => undefined,
    };
  }
  const tableName = store.tableName ?? DEFAULT_THROTTLE.tableName;
  const table = throttleTable(tableName, 'throttle.store.tableName');
  const { pool } = store;
  // One sweep for the table the limiters share, instead of RateLimiterPostgres's timer per limiter.
  const sweep = setInterval(() => {
    pool
      .query({
        text: `DELETE FROM ${table.sql} WHERE expire < $1`,
        values: [Date.now() - CLEAR_EXPIRED_AFTER_MS],
      })
      .catch(() => undefined);
  }, CLEAR_EXPIRED_EVERY_MS);
  sweep.unref();
  return {
    limiter: (spec) =>
      new RateLimiterPostgres({
        ...base(spec),
        storeClient: pool,
        storeType: 'pool',
        tableName: table.name,
        ...(table.schema === undefined ? {} : { schemaName: table.schema }),
        // The table is made (or not) by `prepare`, under the guard: the limiter's own
        // creation at construction throws, unhandled, when the database is down.
        tableCreated: true,
        clearExpiredByTimeout: false,
      }),
    ...(store.createTable !== false && { prepare: once(() => createTable(pool, tableName)) }),
    stop: () => clearInterval(sweep),
  };
}

async function createTable(pool: ThrottlePgPool, tableName: string): Promise<void> {
  try {
    await pool.query({ text: throttleSchemaSql({ tableName }) });
  } catch (error) {
    // Two instances creating the table at once: PostgreSQL reports the loser with 23505 or 42P07.
    const code = errorCode(error);
    if (code !== '23505' && code !== '42P07') throw error;
  }
}

/** `run` until it succeeds once; a failure lets the next call try again. */
function once(run: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= run().catch((error: unknown) => {
      done = undefined;
      throw error;
    });
    return done;
  };
}
