import { z } from 'zod';
import { ConfigError } from '../errors/errors.js';
import { parseFactoryOptions } from '../errors/factory-options.js';
import { quoteIdent } from '../schema/table-name.js';

/**
 * Consecutive failures per identifier and IP address: the quick lockout of
 * one source guessing one account's password. Needs the caller's IP; without
 * one, this limit does not apply.
 */
export interface ConsecutiveLimitOptions {
  /** Failures in a row after which the pair is blocked; a correct password resets the count. Default: `10`. */
  readonly limit?: number;
  /** How long failures below the limit are remembered, from the first one. Whole seconds. Default: `86_400_000` (24 h). */
  readonly windowMs?: number;
  /** How long the pair is refused once it reached `limit`. Whole seconds. Default: `3_600_000` (1 h). */
  readonly blockMs?: number;
}

/**
 * Failures per IP address, whatever the identifier: slow brute force and
 * password spraying from one source. Needs the caller's IP; without one,
 * this limit does not apply.
 */
export interface IpLimitOptions {
  /** Failures per window; beyond it the address is refused until the window ends. Default: `100`. */
  readonly limit?: number;
  /** Fixed window, from the address's first failure. Whole seconds. Default: `86_400_000` (24 h). */
  readonly windowMs?: number;
}

/**
 * Failures per account, whatever the IP address: the cap of OWASP ASVS and
 * NIST SP 800-63B on guessing one account from many addresses. Once the
 * budget is spent, the account is not locked: one attempt is let through per
 * wait, and the wait doubles after each failure up to `maxWaitMs`
 * (Keycloak's temporary lockout). An attacker who keeps failing therefore
 * holds the account in waits of at most `maxWaitMs`, never longer.
 */
export interface AccountLimitOptions {
  /** Failures per window before waits begin (the attempt that reaches it is let through). Default: `100`. */
  readonly limit?: number;
  /** Fixed window, from the account's first failure; its end refills the budget. Whole seconds. Default: `3_600_000` (1 h). */
  readonly windowMs?: number;
  /** The first wait, once the budget is spent; each failure after it doubles it. Whole seconds. Default: `60_000` (1 min). */
  readonly firstWaitMs?: number;
  /** The longest wait. Whole seconds, at least `firstWaitMs`. Default: `900_000` (15 min). */
  readonly maxWaitMs?: number;
}

/** Just the part of a `pg.Pool` (or `pg.Client`) the throttle uses. */
export interface ThrottlePgPool {
  query(config: {
    readonly text: string;
    readonly values?: unknown[];
    readonly name?: string;
  }): Promise<{ readonly rows: readonly unknown[]; readonly rowCount: number | null }>;
}

/** Just the parts of an ioredis client the throttle uses. */
export interface ThrottleIoRedisClient {
  defineCommand(name: string, definition: { numberOfKeys?: number; lua: string }): void;
  multi(): unknown;
  del(key: string): Promise<number>;
}

/** Just the parts of a node-redis (v4 and later) client the throttle uses. */
export interface ThrottleNodeRedisClient {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  multi(): unknown;
  del(key: string): Promise<number>;
}

/** An ioredis or node-redis client. */
export type ThrottleRedisClient = ThrottleIoRedisClient | ThrottleNodeRedisClient;

/** Counters in this process's memory: they hold for one app instance only. */
export interface MemoryThrottleStore {
  readonly type: 'memory';
}

/**
 * Counters in a PostgreSQL table, shared by every app instance using it
 * (`RateLimiterPostgres`). The throttle never ends the pool.
 */
export interface PostgresThrottleStore {
  readonly type: 'postgres';
  /** A pool of the application's (or one of its own). */
  readonly pool: ThrottlePgPool;
  /** `table` or `schema.table`. Default: `'resilient_auth_throttle'`. */
  readonly tableName?: string;
  /**
   * Creates the table (`CREATE TABLE IF NOT EXISTS`) before first use. Set
   * `false` when a migration creates it with `throttleSchemaSql()`.
   * Default: `true`.
   */
  readonly createTable?: boolean;
}

/** Counters in Redis, shared by every app instance using it (`RateLimiterRedis`). The throttle never closes the client. */
export interface RedisThrottleStore {
  readonly type: 'redis';
  /** An ioredis or node-redis client, connected or connecting. */
  readonly client: ThrottleRedisClient;
}

/** Where the throttle keeps its counters. */
export type ThrottleStoreOptions = MemoryThrottleStore | PostgresThrottleStore | RedisThrottleStore;

/**
 * Options of the throttle (`createResilientAuth({ throttle })`). Three limits,
 * each turned off with `false`; counted are wrong passwords and unknown
 * identifiers alike, never invalid input nor an outage.
 */
export interface ThrottleOptions {
  /** Default: `{ limit: 10, windowMs: 86_400_000, blockMs: 3_600_000 }`. */
  readonly consecutive?: ConsecutiveLimitOptions | false;
  /** Default: `{ limit: 100, windowMs: 86_400_000 }`. */
  readonly ip?: IpLimitOptions | false;
  /** Default: `{ limit: 100, windowMs: 3_600_000, firstWaitMs: 60_000, maxWaitMs: 900_000 }`. */
  readonly account?: AccountLimitOptions | false;
  /**
   * Where the counters live. With several app instances, only a shared store
   * (PostgreSQL or Redis) makes the limits hold across all of them.
   * Default: `{ type: 'memory' }`.
   */
  readonly store?: ThrottleStoreOptions;
  /** Starts every key, so that several apps can share one store. Letters, digits and `_ . : -`. Default: `'resilient-auth'`. */
  readonly keyPrefix?: string;
  /** Bound on each call to a shared store; past it, this process's memory counts instead. Default: `250`. */
  readonly storeTimeoutMs?: number;
  /** After a shared store failed, how long memory counts before one call tries the store again. Default: `1000`. */
  readonly storeRetryMs?: number;
}

/** The options with every default filled in; durations in whole seconds, as the stores count. */
export interface ResolvedThrottleOptions {
  readonly consecutive:
    | { readonly limit: number; readonly windowSec: number; readonly blockSec: number }
    | false;
  readonly ip: { readonly limit: number; readonly windowSec: number } | false;
  readonly account:
    | {
        readonly limit: number;
        readonly windowSec: number;
        readonly firstWaitSec: number;
        readonly maxWaitSec: number;
      }
    | false;
  readonly store: ThrottleStoreOptions;
  readonly keyPrefix: string;
  readonly storeTimeoutMs: number;
  readonly storeRetryMs: number;
}

/** Defaults of {@link ThrottleOptions}. */
export const DEFAULT_THROTTLE = Object.freeze({
  consecutive: Object.freeze({ limit: 10, windowMs: 86_400_000, blockMs: 3_600_000 }),
  ip: Object.freeze({ limit: 100, windowMs: 86_400_000 }),
  account: Object.freeze({
    limit: 100,
    windowMs: 3_600_000,
    firstWaitMs: 60_000,
    maxWaitMs: 900_000,
  }),
  keyPrefix: 'resilient-auth',
  storeTimeoutMs: 250,
  storeRetryMs: 1000,
  tableName: 'resilient_auth_throttle',
});

// Compile-time: a schema covers exactly the options of its type.
type SameKeys<A, B> = [keyof A] extends [keyof B]
  ? [keyof B] extends [keyof A]
    ? true
    : false
  : false;

// The stores count in whole seconds (Redis drops a fraction, and a duration
// under a second there means "never expires"); memory timers stop at 24.8 days.
const seconds = z
  .number()
  .int()
  .min(1000)
  .max(24 * 86_400_000)
  .refine((ms) => ms % 1000 === 0, 'expected whole seconds (a multiple of 1000 ms)');
const limit = z.number().int().min(1).max(1_000_000);

const consecutiveSchema = z.strictObject({
  limit: limit.optional(),
  windowMs: seconds.optional(),
  blockMs: seconds.optional(),
}) satisfies z.ZodType<ConsecutiveLimitOptions>;
true satisfies SameKeys<ConsecutiveLimitOptions, z.infer<typeof consecutiveSchema>>;

const ipSchema = z.strictObject({
  limit: limit.optional(),
  windowMs: seconds.optional(),
}) satisfies z.ZodType<IpLimitOptions>;
true satisfies SameKeys<IpLimitOptions, z.infer<typeof ipSchema>>;

const accountSchema = z
  .strictObject({
    limit: limit.optional(),
    windowMs: seconds.optional(),
    firstWaitMs: seconds.optional(),
    maxWaitMs: seconds.optional(),
  })
  .superRefine((account, ctx) => {
    const first = account.firstWaitMs ?? DEFAULT_THROTTLE.account.firstWaitMs;
    const max = account.maxWaitMs ?? DEFAULT_THROTTLE.account.maxWaitMs;
    if (max < first) {
      ctx.addIssue({
        code: 'custom',
        path: [account.maxWaitMs === undefined ? 'firstWaitMs' : 'maxWaitMs'],
        message: `expected maxWaitMs (${max}) to be at least firstWaitMs (${first})`,
      });
    }
  }) satisfies z.ZodType<AccountLimitOptions>;
true satisfies SameKeys<AccountLimitOptions, z.infer<typeof accountSchema>>;

function hasMethods(value: unknown, names: readonly string[]): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const members = value as Readonly<Record<string, unknown>>;
  return names.every((name) => typeof members[name] === 'function');
}

// RateLimiterPostgres puts the name between double quotes as it is: no quote may be in it.
const TABLE_NAME = /^(?:[A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const TABLE_NAME_MESSAGE = 'expected "table" or "schema.table" of letters, digits and _';

const storeSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('memory') }),
    z.strictObject({
      type: z.literal('postgres'),
      pool: z.custom<ThrottlePgPool>((pool) => hasMethods(pool, ['query']), {
        message: 'expected a pg pool (an object with query())',
      }),
      tableName: z.string().regex(TABLE_NAME, TABLE_NAME_MESSAGE).optional(),
      createTable: z.boolean().optional(),
    }),
    z.strictObject({
      type: z.literal('redis'),
      client: z.custom<ThrottleRedisClient>(
        (client) =>
          hasMethods(client, ['multi', 'del']) &&
          (hasMethods(client, ['defineCommand']) || hasMethods(client, ['eval'])),
        { message: 'expected an ioredis or node-redis client' },
      ),
    }),
  ],
  { error: 'expected { type: "memory" }, { type: "postgres", pool } or { type: "redis", client }' },
) satisfies z.ZodType<ThrottleStoreOptions>;

function offOr<T extends z.ZodType>(limitSchema: T) {
  return z.union([z.literal(false), limitSchema], {
    error: 'expected false (off) or an object of options',
  });
}

/**
 * The schema of {@link ThrottleOptions}: strict, so a misspelt option is an
 * error rather than a limit silently left at its default.
 */
export const throttleOptionsSchema: z.ZodType<ThrottleOptions> = z.strictObject({
  consecutive: offOr(consecutiveSchema).optional(),
  ip: offOr(ipSchema).optional(),
  account: offOr(accountSchema).optional(),
  store: storeSchema.optional(),
  keyPrefix: z
    .string()
    .regex(/^[\w.:-]{1,64}$/, 'expected 1 to 64 letters, digits or _ . : -')
    .optional(),
  storeTimeoutMs: z.number().int().min(1).max(60_000).optional(),
  storeRetryMs: z.number().int().min(1).max(3_600_000).optional(),
});

/**
 * Validates the options and fills in the defaults. Throws a
 * {@link ConfigError} naming the first bad option under `throttle.`.
 */
export function resolveThrottleOptions(options: ThrottleOptions): ResolvedThrottleOptions {
  const o = parseFactoryOptions('throttle', throttleOptionsSchema, options);
  const consecutive =
    o.consecutive === false ? false : { ...DEFAULT_THROTTLE.consecutive, ...o.consecutive };
  const ip = o.ip === false ? false : { ...DEFAULT_THROTTLE.ip, ...o.ip };
  const account = o.account === false ? false : { ...DEFAULT_THROTTLE.account, ...o.account };
  return Object.freeze({
    consecutive: consecutive && {
      limit: consecutive.limit,
      windowSec: consecutive.windowMs / 1000,
      blockSec: consecutive.blockMs / 1000,
    },
    ip: ip && { limit: ip.limit, windowSec: ip.windowMs / 1000 },
    account: account && {
      limit: account.limit,
      windowSec: account.windowMs / 1000,
      firstWaitSec: account.firstWaitMs / 1000,
      maxWaitSec: account.maxWaitMs / 1000,
    },
    store: o.store ?? { type: 'memory' as const },
    keyPrefix: o.keyPrefix ?? DEFAULT_THROTTLE.keyPrefix,
    storeTimeoutMs: o.storeTimeoutMs ?? DEFAULT_THROTTLE.storeTimeoutMs,
    storeRetryMs: o.storeRetryMs ?? DEFAULT_THROTTLE.storeRetryMs,
  });
}

/** A validated throttle table: its parts for RateLimiterPostgres and its quoted SQL name. */
export interface ThrottleTable {
  readonly schema: string | undefined;
  readonly name: string;
  readonly sql: string;
}

/** Parses `table` or `schema.table`; throws a {@link ConfigError} naming `option` when it is not a plain identifier. */
export function throttleTable(raw: string, option: string): ThrottleTable {
  if (!TABLE_NAME.test(raw)) {
    throw new ConfigError(option, `${TABLE_NAME_MESSAGE}, got ${JSON.stringify(raw)}`);
  }
  const [first, second] = raw.split('.') as [string, string | undefined];
  const [schema, name] = second === undefined ? [undefined, first] : [first, second];
  return {
    schema,
    name,
    sql: schema === undefined ? quoteIdent(name) : `${quoteIdent(schema)}.${quoteIdent(name)}`,
  };
}
