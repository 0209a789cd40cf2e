import { availableParallelism } from 'node:os';
import bcrypt from 'bcryptjs';
import { Piscina } from 'piscina';
import { safeMessage } from '../errors/classify.js';
import { ConfigError } from '../errors/errors.js';
import { consoleLogger, type Logger } from '../hooks/logger.js';
import { BCRYPT_MAX_PASSWORD_BYTES, bcryptCost, dummyBcryptHash } from './bcrypt-hash.js';
import type { PasswordVerifier } from './verifier.js';

/** Options of {@link bcryptVerifier}. */
export interface BcryptVerifierOptions {
  /** Worker threads. Default: `os.availableParallelism()`. `0` verifies in-thread (async bcryptjs; blocks the event loop in slices). */
  readonly threads?: number;
  /** Verifications allowed to wait for a thread before `verify` rejects. Default: `4096`. */
  readonly maxQueue?: number;
  /** Cost of the dummy hash before any real hash has been seen. Default: `10`. */
  readonly defaultCost?: number;
  /** Where a failing worker pool is reported. Default: console. */
  readonly logger?: Logger;
}

const WORKER_URL = new URL('./bcrypt-worker.mjs', import.meta.url).href;

/**
 * bcrypt verification with bcryptjs in a piscina worker pool sized to the
 * machine, so login throughput scales with cores and the event loop stays
 * responsive. Falls back to in-thread async bcryptjs when worker threads are
 * unavailable (and says so once through the logger). Threads start on the first
 * verification and are unreferenced while idle.
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
  if (!Number.isInteger(defaultCost) || defaultCost < 4 || defaultCost > 31) {
    throw new ConfigError('verifier.defaultCost', 'must be an integer from 4 to 31');
  }
  let pool: Piscina | undefined;
  let poolBroken = threads === 0;

  const inThread = (password: string, hash: string) => bcrypt.compare(password, hash);

  const poolFor = (): Piscina => {
    pool ??= new Piscina({
      filename: WORKER_URL,
      minThreads: threads,
      maxThreads: threads,
      maxQueue: options.maxQueue ?? 4096,
    });
    return pool;
  };

  return {
    maxPasswordBytes: BCRYPT_MAX_PASSWORD_BYTES,
    isWellFormed: (hash) => bcryptCost(hash) !== undefined,
    dummyHash: (like) => dummyBcryptHash(bcryptCost(like) ?? defaultCost),
    async verify(password, hash) {
      if (poolBroken) return inThread(password, hash);
      try {
        // Creating the pool can throw synchronously; this catches that too.
        return await poolFor().run({ password, hash });
      } catch (error) {
        if (isQueueFull(error)) throw error;
        // Workers cannot start here (missing file, no threads): verify in-thread from now on.
        poolBroken = true;
        logger.error('bcrypt worker pool failed; verifying in-thread from now on', {
          error: safeMessage(error),
        });
        const broken = pool;
        pool = undefined;
        broken?.destroy().catch(() => undefined);
        return inThread(password, hash);
      }
    },
    async close() {
      const closing = pool;
      pool = undefined;
      await closing?.destroy();
    },
  };
}

function isQueueFull(error: unknown): boolean {
  return error instanceof Error && /queue is at limit/i.test(error.message);
}
