import { ConfigError } from '../errors/errors.js';
import { BCRYPT_MAX_PASSWORD_BYTES, fitsBcrypt, isBcryptCost } from '../password/bcrypt-hash.js';
import { hashPassword } from '../password/hash-password.js';
import type { Account, AuthProvider, AuthUser, ProviderCallContext } from './provider.js';

/**
 * One seeded account of a {@link memoryProvider}. Give `password` (hashed on
 * first lookup; at most 72 UTF-8 bytes, like {@link hashPassword}) or
 * `passwordHash`.
 */
export interface MemoryAccount<U = AuthUser> {
  readonly identifier: string;
  readonly password?: string;
  readonly passwordHash?: string;
  readonly user: U;
  /** Default: `true`. */
  readonly active?: boolean;
  /** Default: `false`. */
  readonly mustChangePassword?: boolean;
  /** Default: not locked. */
  readonly lockedUntil?: Date | null;
}

/** Options of {@link memoryProvider}. */
export interface MemoryProviderOptions<U = AuthUser> {
  /** Default: `'memory'`. */
  readonly name?: string;
  readonly accounts: readonly MemoryAccount<U>[];
  /** Match identifiers case-insensitively. Default: `true`. */
  readonly caseInsensitive?: boolean;
  /** bcrypt cost for accounts seeded with `password`. Default: `10` (use `4` in fast tests). */
  readonly hashCost?: number;
}

/** An in-memory provider with switches that simulate outages. */
export interface MemoryProvider<U = AuthUser> extends AuthProvider<U> {
  /** Lookups started (including failed and hanging ones). */
  readonly lookups: number;
  /**
   * Makes the next `times` lookups and checks throw `error` (default: until
   * {@link recover}). Default error: a transient `ECONNREFUSED`.
   */
  fail(error?: unknown, times?: number): void;
  /** Makes lookups and checks never settle, ignoring their signal, like a hung pool. */
  hang(): void;
  /** Adds latency to every lookup and check; the delay ends early when the signal aborts. */
  delay(ms: number): void;
  /** Clears fail, hang and delay. */
  recover(): void;
}

/** The error `fail()` throws by default: a refused connection, which the retry policy treats as transient. */
export function simulatedOutage(): Error {
  return Object.assign(new Error('memory provider: simulated outage (connection refused)'), {
    code: 'ECONNREFUSED',
  });
}

/**
 * An in-memory provider for tests and demos, with fault switches.
 *
 * @example
 * ```ts
 * const primary = memoryProvider({ name: 'primary', hashCost: 4, accounts: [
 *   { identifier: 'ada@example.com', password: 'correct horse', user: { id: 1 } },
 * ] });
 * primary.fail();      // the next lookups throw ECONNREFUSED
 * primary.recover();
 * ```
 */
export function memoryProvider<U = AuthUser>(options: MemoryProviderOptions<U>): MemoryProvider<U> {
  const caseInsensitive = options.caseInsensitive ?? true;
  const hashCost = options.hashCost ?? 10;
  if (!isBcryptCost(hashCost)) {
    throw new ConfigError('hashCost', 'must be an integer from 4 to 31');
  }
  const key = (identifier: string) => (caseInsensitive ? identifier.toLowerCase() : identifier);
  const accounts = new Map<string, { seed: MemoryAccount<U>; hash?: Promise<string> }>();
  options.accounts.forEach((seed, i) => {
    if (seed.password === undefined && seed.passwordHash === undefined) {
      throw new ConfigError(`accounts.${i}`, 'give password or passwordHash');
    }
    if (seed.password === '') {
      throw new ConfigError(`accounts.${i}.password`, 'must not be empty');
    }
    if (seed.password !== undefined && !fitsBcrypt(seed.password)) {
      // bcrypt would ignore the rest: refused, never truncated, as hashPassword does.
      throw new ConfigError(
        `accounts.${i}.password`,
        `is longer than ${BCRYPT_MAX_PASSWORD_BYTES} UTF-8 bytes, which bcrypt cannot hash whole`,
      );
    }
    accounts.set(key(seed.identifier), { seed });
  });

  let failure: { error: unknown; remaining: number } | undefined;
  let hanging = false;
  let delayMs = 0;
  let lookups = 0;

  // Takes the context, not its signal: the signal is built only if a delay needs it.
  const fault = async (ctx: ProviderCallContext): Promise<void> => {
    if (hanging) await new Promise<never>(() => undefined);
    if (failure && failure.remaining > 0) {
      failure.remaining--;
      const { error } = failure;
      if (failure.remaining === 0) failure = undefined;
      throw error;
    }
    if (delayMs > 0) await sleep(delayMs, ctx.signal);
  };

  return {
    name: options.name ?? 'memory',
    get lookups() {
      return lookups;
    },
    async findAccount(identifier: string, ctx: ProviderCallContext): Promise<Account<U> | null> {
      lookups++;
      await fault(ctx);
      const entry = accounts.get(key(identifier));
      if (!entry) return null;
      const { seed } = entry;
      entry.hash ??=
        seed.passwordHash !== undefined
          ? Promise.resolve(seed.passwordHash)
          : hashPassword(seed.password ?? '', hashCost);
      return {
        user: seed.user,
        passwordHash: await entry.hash,
        active: seed.active ?? true,
        mustChangePassword: seed.mustChangePassword ?? false,
        lockedUntil: seed.lockedUntil ?? null,
      };
    },
    async check(ctx: ProviderCallContext): Promise<void> {
      await fault(ctx);
    },
    fail(error = simulatedOutage(), times = Number.POSITIVE_INFINITY) {
      failure = { error, remaining: times };
    },
    hang() {
      hanging = true;
    },
    delay(ms: number) {
      delayMs = ms;
    },
    recover() {
      failure = undefined;
      hanging = false;
      delayMs = 0;
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
