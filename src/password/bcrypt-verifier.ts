import { availableParallelism } from 'node:os';
import bcrypt from 'bcryptjs';
import { Piscina } from 'piscina';
import { z } from 'zod';
import { safeMessage } from '../errors/classify.js';
import { ResilientAuthError } from '../errors/errors.js';
import { parseFactoryOptions } from '../errors/factory-options.js';
import { consoleLogger, type Logger } from '../hooks/logger.js';
import { BCRYPT_MAX_PASSWORD_BYTES, bcryptCost, dummyBcryptHash } from './bcrypt-hash.js';
import { assertHashable } from './native-verifier-queue.js';
import type { PasswordVerifier, VerifyOptions } from './verifier.js';
import { VerifyQueue } from './verify-queue.js';

/** Options of {@link bcryptVerifier}. */
export interface BcryptVerifierOptions {
  /** Worker threads. Default: `os.availableParallelism()`. `0` verifies in-thread (async bcryptjs, one at a time; blocks the event loop in slices). */
  readonly threads?: number;
  /**
   * Verifications allowed to wait for a thread; past that, `verify` rejects at
   * once with code `OVERLOADED` (shed, not broken: the pool stays in use).
   * `Infinity` for no limit. Default: `4096`.
   */
  readonly maxQueue?: number;
  /** bcrypt cost of new hashes (`hash()`); a password matching a hash of lower cost `needsRehash`. From 4 to 31. Default: `10`. */
  readonly cost?: number;
  /** Cost of the dummy hash before any real hash has been seen. Default: {@link cost}. */
  readonly defaultCost?: number;
  /** Where a failing worker pool is reported. Default: console. */
  readonly logger?: Logger;
}

const bcryptCostSchema = z.number().int().min(4).max(31);
const optionsSchema = z.strictObject({
  threads: z.number().int().min(0).max(1024).optional(),
  maxQueue: z.union([z.number().int().min(0), z.literal(Number.POSITIVE_INFINITY)]).optional(),
  cost: bcryptCostSchema.optional(),
  defaultCost: bcryptCostSchema.optional(),
  logger: z
    .custom<Logger>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        typeof (value as Logger).warn === 'function' &&
        typeof (value as Logger).error === 'function',
      { message: 'expected an object with warn and error functions' },
    )
    .optional(),
});

// CommonJS, so piscina's `require()` loads it natively (see the file). In the
// CJS build tsup shims `import.meta.url`; both builds sit next to the copy in dist/.
const WORKER_URL = new URL('./bcrypt-worker.cjs', import.meta.url).href;

/** What the worker answers (see the file): a verdict, a hash, or why bcryptjs could not (a task error is not a pool error). */
type WorkerAnswer = boolean | { readonly hash?: unknown; readonly error?: unknown };

/**
 * bcrypt verification with bcryptjs in a piscina worker pool sized to the
 * machine, so login throughput scales with cores and the event loop stays
 * responsive. Every verification first passes a {@link VerifyQueue} with one
 * slot per thread: one that cannot be checked within `maxWaitMs` (what is left
 * of the login's deadline), or that finds `maxQueue` waiting, is refused at once
 * with code `OVERLOADED` instead of queueing (see the queue for the order and
 * the estimate). Falls back to in-thread async bcryptjs when worker threads are
 * unavailable (and says so once through the logger), still behind the same
 * queue. Threads start on the first verification and are unreferenced while
 * idle, so they never keep a process alive. `close()` ends the threads at
 * once: verifications still queued or running reject with a `CLOSED`
 * {@link ResilientAuthError}, and so does every later one.
 *
 * Rehash: `hash(password)` hashes at `cost` in the pool, and `needsRehash(hash)`
 * is true for a hash of lower cost, so logins upgrade old hashes after the
 * cost is raised.
 *
 * @example
 * ```ts
 * const auth = createResilientAuth({ providers, verifier: bcryptVerifier({ threads: 4, cost: 12 }) });
 * ```
 */
export function bcryptVerifier(options: BcryptVerifierOptions = {}): PasswordVerifier {
  const o = parseFactoryOptions('verifier', optionsSchema, options);
  const threads = o.threads ?? availableParallelism();
  const cost = o.cost ?? 10;
  const defaultCost = o.defaultCost ?? cost;
  const logger = o.logger ?? consoleLogger;
  const queue = new VerifyQueue({
    // In-thread, one at a time: concurrent checks on one thread only slow each other down.
    concurrency: Math.max(1, threads),
    maxQueue: o.maxQueue ?? 4096,
    name: 'bcrypt',
  });
  let pool: Piscina | undefined;
  let poolBroken = threads === 0;
  let closing: Promise<void> | undefined;
  // A pool given up on is still being destroyed; close() waits for it too.
  let destroying: Promise<void> = Promise.resolve();

  // Workers cannot start here (missing file, no threads): verify in-thread from
  // now on. Only the first failure of the current pool reports and destroys it;
  // the tasks it still held then fail too and just fall back.
  const giveUpOn = (failed: Piscina | undefined, error: unknown) => {
    if (closing !== undefined || poolBroken || failed !== pool) return;
    poolBroken = true;
    pool = undefined;
    logger.error('bcrypt worker pool failed; verifying in-thread from now on', {
      error: safeMessage(error),
    });
    if (failed) destroying = failed.destroy().catch(() => undefined);
  };

  const poolFor = (): Piscina => {
    if (pool !== undefined) return pool;
    // No maxQueue here: the VerifyQueue hands the pool at most one task per thread.
    const created = new Piscina({ filename: WORKER_URL, minThreads: threads, maxThreads: threads });
    // A thread that fails while no task is on it is reported as an 'error'
    // event; unheard, that event would throw and crash the process.
    created.on('error', (error: unknown) => giveUpOn(created, error));
    pool = created;
    return created;
  };

  const closedError = (cause?: unknown) =>
    new ResilientAuthError('CLOSED', 'the password verifier is closed', { cause });

  /** One task on the pool, or `inThread` when there is no pool (any more). */
  const onPool = async <A>(
    task:
      | { readonly password: string; readonly hash: string }
      | { readonly password: string; readonly cost: number },
    inThread: () => Promise<A>,
  ): Promise<WorkerAnswer | A> => {
    if (closing !== undefined) throw closedError();
    if (poolBroken) return inThread();
    let running: Piscina | undefined;
    try {
      // Creating the pool can throw synchronously; this catches that too.
      running = poolFor();
      return (await running.run(task)) as WorkerAnswer;
    } catch (error) {
      // close() rejected it while running: no in-thread retry after close.
      if (closing !== undefined) throw closedError(error);
      // The worker answers every task (see the file): a rejection is the pool's failure.
      giveUpOn(running, error);
      return inThread();
    }
  };

  const failed = (what: string, answer: WorkerAnswer) =>
    new ResilientAuthError(
      'VERIFIER_FAILED',
      `bcrypt could not ${what}: ${typeof answer === 'object' && typeof answer.error === 'string' ? answer.error : 'unexpected answer from the worker'}`,
    );

  return {
    maxPasswordBytes: BCRYPT_MAX_PASSWORD_BYTES,
    isWellFormed: (hash) => bcryptCost(hash) !== undefined,
    dummyHash: (like) => dummyBcryptHash(bcryptCost(like) ?? defaultCost),
    needsRehash: (hash) => (bcryptCost(hash) ?? 0) < cost,
    async verify(password, hash, verifyOptions) {
      if (closing !== undefined) throw closedError();
      const answer = await queue.run(
        () => onPool({ password, hash }, () => bcrypt.compare(password, hash)),
        verifyOptions?.maxWaitMs,
      );
      if (typeof answer === 'boolean') return answer;
      throw failed('check the hash', answer);
    },
    async hash(password: string, hashOptions?: VerifyOptions) {
      if (closing !== undefined) throw closedError();
      assertHashable(password, BCRYPT_MAX_PASSWORD_BYTES);
      const answer = await queue.run(
        () => onPool({ password, cost }, async () => ({ hash: await bcrypt.hash(password, cost) })),
        hashOptions?.maxWaitMs,
      );
      if (
        typeof answer === 'object' &&
        typeof answer.hash === 'string' &&
        bcryptCost(answer.hash) === cost
      ) {
        return answer.hash;
      }
      throw failed('hash the password', answer);
    },
    close() {
      closing ??= (async () => {
        queue.close();
        const closed = pool;
        pool = undefined;
        // destroy() rejects the tasks on the threads, terminates threads even
        // while they are still starting, and resolves once every thread has exited.
        await Promise.all([closed?.destroy(), destroying]);
      })();
      return closing;
    },
  };
}
