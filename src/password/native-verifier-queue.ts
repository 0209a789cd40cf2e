import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { safeMessage } from '../errors/classify.js';
import { ResilientAuthError } from '../errors/errors.js';
import { VerifyQueue } from './verify-queue.js';

/** libuv's thread pool: `UV_THREADPOOL_SIZE` when set, else libuv's default of 4. */
export function libuvPoolSize(): number {
  const size = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(size) && size > 0 ? size : 4;
}

/**
 * Threads a native verifier uses by default: one per core, but one libuv
 * thread always stays free, since the same pool serves `dns.lookup` (every
 * connection to a database by host name), file system calls and zlib.
 */
export function defaultNativeThreads(): number {
  return Math.max(1, Math.min(availableParallelism(), libuvPoolSize() - 1));
}

/** Options every native verifier (`nativeBcryptVerifier`, `argon2Verifier`) has. */
export interface NativeThreadOptions {
  /**
   * Verifications running at once on libuv's thread pool, where the native
   * library does its work. At most the pool's size (4 unless
   * `UV_THREADPOOL_SIZE` says otherwise). Default: `os.availableParallelism()`,
   * but at most the pool's size minus one, so that `dns.lookup` and file
   * system calls always find a thread.
   */
  readonly threads?: number;
  /**
   * Verifications allowed to wait for a thread; past that, `verify` rejects at
   * once with code `OVERLOADED`. Default: `4096`.
   */
  readonly maxQueue?: number;
}

/**
 * zod shape of {@link NativeThreadOptions}. `threads` above the
 * libuv pool size would let "started" verifications wait inside libuv, out of
 * reach of `maxWaitMs`: refused, saying how to grow the pool.
 */
export const nativeThreadOptions = {
  threads: z
    .number()
    .int()
    .min(1)
    .refine((threads) => threads <= libuvPoolSize(), {
      error: () =>
        `must be at most the libuv thread pool size (${libuvPoolSize()}): set UV_THREADPOOL_SIZE before the process starts to run more`,
    })
    .optional(),
  maxQueue: z.union([z.number().int().min(0), z.literal(Number.POSITIVE_INFINITY)]).optional(),
};

/** What a native verifier runs: its check or its hashing, on libuv's pool. */
export type NativeTask = 'check the hash' | 'hash the password';

/** The bounded queue in front of libuv's pool that a native verifier runs every task through. */
export interface NativeVerifierQueue {
  /**
   * Runs `task` once a thread is free, or rejects `OVERLOADED` when none is
   * within `maxWaitMs`, `CLOSED` after {@link close}. The library's own
   * errors become `VERIFIER_FAILED`, their message redacted.
   */
  run<T>(what: NativeTask, task: () => Promise<T>, maxWaitMs?: number): Promise<T>;
  close(): Promise<void>;
}

// Enough for any burst that can still start within a login's deadline; what
// waits longer is shed by maxWaitMs anyway. The same as bcryptVerifier's.
const DEFAULT_MAX_QUEUE = 4096;

/** The queue of the `name` verifier (`native bcrypt`, `argon2`), sized by its options. */
export function nativeVerifierQueue(
  name: string,
  options: NativeThreadOptions,
): NativeVerifierQueue {
  const queue = new VerifyQueue({
    concurrency: options.threads ?? defaultNativeThreads(),
    maxQueue: options.maxQueue ?? DEFAULT_MAX_QUEUE,
    name,
  });
  return {
    async run(what, task, maxWaitMs) {
      try {
        return await queue.run(task, maxWaitMs);
      } catch (error) {
        if (error instanceof ResilientAuthError) throw error;
        throw new ResilientAuthError(
          'VERIFIER_FAILED',
          `${name} could not ${what}: ${safeMessage(error)}`,
          {
            cause: error,
          },
        );
      }
    },
    async close() {
      queue.close();
    },
  };
}

/** Rejects a verification of a hash its verifier does not take: nothing to run. */
export function malformedHash(name: string): ResilientAuthError {
  return new ResilientAuthError(
    'VERIFIER_FAILED',
    `not a hash the ${name} verifier takes (see isWellFormed)`,
  );
}

/** Refuses to hash a password the verifier would not take at login: empty, or longer than it takes. */
export function assertHashable(password: string, maxPasswordBytes: number): void {
  if (
    typeof password !== 'string' ||
    password === '' ||
    Buffer.byteLength(password, 'utf8') > maxPasswordBytes
  ) {
    throw new ResilientAuthError(
      'INVALID_INPUT',
      `hashes non-empty passwords of at most ${maxPasswordBytes} UTF-8 bytes`,
    );
  }
}
