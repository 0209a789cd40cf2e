import { availableParallelism } from 'node:os';
import bcrypt from 'bcryptjs';
import { Piscina } from 'piscina';
import { safeMessage } from '../errors/classify.js';
import { ConfigError, ResilientAuthError } from '../errors/errors.js';
import { consoleLogger, type Logger } from '../hooks/logger.js';
import {
  BCRYPT_MAX_PASSWORD_BYTES,
  bcryptCost,
  dummyBcryptHash,
  isBcryptCost,
} from './bcrypt-hash.js';
import type { PasswordVerifier } from './verifier.js';

/** Options of {@link bcryptVerifier}. */
export interface BcryptVerifierOptions {
  /** Worker threads. Default: `os.availableParallelism()`. `0` verifies in-thread (async bcryptjs; blocks the event loop in slices). */
  readonly threads?: number;
  /**
   * Verifications allowed to wait for a thread; past that, `verify` rejects at
   * once with piscina's queue-full error (back-pressure: the pool stays in use).
   * Default: `4096`.
   */
  readonly maxQueue?: number;
  /** Cost of the dummy hash before any real hash has been seen. Default: `10`. */
  readonly defaultCost?: number;
  /** Where a failing worker pool is reported. Default: console. */
  readonly logger?: Logger;
}

// CommonJS, so piscina's `require()` loads it natively (see the file). In the
// CJS build tsup shims `import.meta.url`; both builds sit next to the copy in dist/.
const WORKER_URL = new URL('./bcrypt-worker.cjs', import.meta.url).href;

/**
 * bcrypt verification with bcryptjs in a piscina worker pool sized to the
 * machine, so login throughput scales with cores and the event loop stays
 * responsive. Falls back to in-thread async bcryptjs when worker threads are
 * unavailable (and says so once through the logger). Threads start on the first
 * verification and are unreferenced while idle, so they never keep a process
 * alive. `close()` ends the threads at once: verifications still queued or
 * running reject with a `CLOSED` {@link ResilientAuthError}, and so does every
 * later one.
 *
 * @example
 * ```ts
 * const auth = createResilientAuth({ providers, verifier: bcryptVerifier({ threads: 4 }) });
 * ```
 */
export function bcryptVerifier(options: BcryptVerifierOptions = {}): PasswordVerifier {
  const threads = options.threads ?? availableParallelism();
  const defaultCost = options.defaultCost ?? 10;
  const logger = options.logger ?? consoleLogger;
  if (!Number.isInteger(threads) || threads < 0) {
    throw new ConfigError('verifier.threads', 'must be a non-negative integer');
  }
  if (!isBcryptCost(defaultCost)) {
    throw new ConfigError('verifier.defaultCost', 'must be an integer from 4 to 31');
  }
  const maxQueue = options.maxQueue ?? 4096;
  if (!(Number.isInteger(maxQueue) || maxQueue === Number.POSITIVE_INFINITY) || maxQueue < 0) {
    throw new ConfigError('verifier.maxQueue', 'must be a non-negative integer');
  }
  let pool: Piscina | undefined;
  let poolBroken = threads === 0;
  let closing: Promise<void> | undefined;
  // A pool given up on is still being destroyed; close() waits for it too.
  let destroying: Promise<void> = Promise.resolve();

  const inThread = (password: string, hash: string) => bcrypt.compare(password, hash);

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
    const created = new Piscina({
      filename: WORKER_URL,
      minThreads: threads,
      maxThreads: threads,
      maxQueue,
    });
    // A thread that fails while no task is on it is reported as an 'error'
    // event; unheard, that event would throw and crash the process.
    created.on('error', (error: unknown) => giveUpOn(created, error));
    pool = created;
    return created;
  };

  const closedError = (cause?: unknown) =>
    new ResilientAuthError('CLOSED', 'the password verifier is closed', { cause });

  return {
    maxPasswordBytes: BCRYPT_MAX_PASSWORD_BYTES,
    isWellFormed: (hash) => bcryptCost(hash) !== undefined,
    dummyHash: (like) => dummyBcryptHash(bcryptCost(like) ?? defaultCost),
    async verify(password, hash) {
      if (closing !== undefined) throw closedError();
      if (poolBroken) return inThread(password, hash);
      let running: Piscina | undefined;
      let answer: WorkerAnswer;
      try {
        // Creating the pool can throw synchronously; this catches that too.
        running = poolFor();
        answer = await running.run({ password, hash });
      } catch (error) {
        // close() rejected it while queued or running: no in-thread retry after close.
        if (closing !== undefined) throw closedError(error);
        // Back-pressure, not breakage: the caller hears it and the pool stays.
        if (isQueueFull(error)) {
          throw new ResilientAuthError(
            'VERIFIER_FAILED',
            `password verification queue is full (${maxQueue} waiting): raise threads or maxQueue, or throttle logins`,
            { cause: error },
          );
        }
        // The worker answers every task (see the file): a rejection is the pool's failure.
        giveUpOn(running, error);
        return inThread(password, hash);
      }
      if (typeof answer === 'boolean') return answer;
      throw new ResilientAuthError(
        'VERIFIER_FAILED',
        `bcrypt could not check the hash: ${answer.error}`,
      );
    },
    close() {
      closing ??= (async () => {
        const closed = pool;
        pool = undefined;
        // destroy() rejects queued tasks, terminates threads even while they
        // are still starting, and resolves once every thread has exited.
        await Promise.all([closed?.destroy(), destroying]);
      })();
      return closing;
    },
  };
}

/** What the worker answers: the verdict, or why bcryptjs could not check (a task error is not a pool error). */
type WorkerAnswer = boolean | { readonly error: string };

/** Piscina's "Task queue is at limit", or "No task queue available..." when `maxQueue` is 0. */
function isQueueFull(error: unknown): boolean {
  return error instanceof Error && /queue is at limit|no task queue available/i.test(error.message);
}
