import { z } from 'zod';
import { ConfigError } from '../errors/errors.js';
import type { RequestContext } from '../hooks/events.js';
import type { ProviderWithPolicy } from '../orchestrator/options.js';
import type { AuthProvider, AuthUser } from '../providers/provider.js';

/** A chain of providers in order of preference, as `providers` takes them. */
export type ProviderList<U = AuthUser> = readonly (AuthProvider<U> | ProviderWithPolicy<U>)[];

/**
 * When a rollout goes back to the control by itself. Each rate is judged over
 * the last `windowMs`, once at least `minimumCalls` candidate calls (for
 * `mismatchRate`: comparisons) fell in it.
 */
export interface RollbackOptions {
  /** Share of candidate calls that could not answer (every candidate provider failed or timed out). Default: `0.05`. */
  readonly failureRate?: number;
  /**
   * The candidate's p95 lookup latency may not pass this: rolled back when more
   * than 5% of its calls in the window took longer. Default: `2000`.
   */
  readonly maxP95Ms?: number;
  /** Share of shadow comparisons that disagreed (shadow mode only). Default: `0.01`. */
  readonly mismatchRate?: number;
  /** Sliding window length. Default: `60000`. */
  readonly windowMs?: number;
  /** Fewer calls than this in the window never roll back. Default: `20`. */
  readonly minimumCalls?: number;
}

/** Options of {@link rollout}. */
export interface RolloutOptions<U = AuthUser> {
  /** Names the rollout in events, `health()` and `resumeRollout()`; seeds the buckets. 1 to 100 letters, digits or `. _ - : @ /`. */
  readonly name: string;
  /** The path login takes today, in order of preference. */
  readonly control: ProviderList<U>;
  /** The new path, in order of preference. Provider names are unique across both chains. */
  readonly candidate: ProviderList<U>;
  /**
   * Share of users, 0 to 100 (whole numbers), whose logins take the candidate
   * (or, with `shadow`, are compared against it). Sticky: a user's bucket
   * depends only on `name` and its key.
   */
  readonly percent: number;
  /**
   * What a user is bucketed by. Default: the identifier in lower case, so
   * `Alice@example.com` and `alice@example.com` take the same path.
   */
  readonly key?: (identifier: string, context: RequestContext) => string;
  /**
   * Shadow mode: every login takes the control, which alone decides; for the
   * users in `percent` the candidate is asked too, beside it, and its outcome
   * compared (`onShadowMismatch`). The candidate writes nothing. Default: `false`.
   */
  readonly shadow?: boolean;
  /**
   * The candidate's own deadline in shadow mode, for its lookups (its
   * password check, on a free verifier thread only, comes after). A shadow
   * lookup that passes it counts as a failed candidate call. Default: `3000`.
   */
  readonly shadowTimeoutMs?: number;
  /** Default: see {@link RollbackOptions}. */
  readonly rollback?: RollbackOptions;
  /**
   * How shadow mode tells users apart when both chains found an account.
   * Default: the user's `id` field.
   */
  readonly userId?: (user: U) => unknown;
}

/**
 * A rollout between two provider chains, made by {@link rollout}: pass it as
 * `providers`. Its fields are the options with every default filled in.
 */
export interface Rollout<U = AuthUser> {
  readonly kind: 'rollout';
  readonly name: string;
  readonly control: ProviderList<U>;
  readonly candidate: ProviderList<U>;
  readonly percent: number;
  readonly key: (identifier: string, context: RequestContext) => string;
  readonly shadow: boolean;
  readonly shadowTimeoutMs: number;
  readonly rollback: Readonly<Required<RollbackOptions>>;
  readonly userId: (user: U) => unknown;
}

/** Rollback defaults; documented in {@link RollbackOptions}. */
export const ROLLBACK_DEFAULTS: Readonly<Required<RollbackOptions>> = Object.freeze({
  failureRate: 0.05,
  maxP95Ms: 2000,
  mismatchRate: 0.01,
  windowMs: 60_000,
  minimumCalls: 20,
});

const DEFAULT_SHADOW_TIMEOUT_MS = 3000;
const NAME = /^[\w.:@/-]{1,100}$/;
const ms = z.number().int().positive().max(2_147_483_647);
const rate = z.number().gt(0).max(1);
const fn = z.custom<(...args: never[]) => unknown>((value) => typeof value === 'function', {
  message: 'expected a function',
});
const chain = z.array(z.unknown()).min(1, 'at least one provider is required');

const rolloutSchema = z.strictObject({
  kind: z.literal('rollout').optional(),
  name: z.string().regex(NAME, 'expected 1 to 100 letters, digits or . _ - : @ /'),
  control: chain,
  candidate: chain,
  percent: z.number().int('expected a whole number').min(0).max(100),
  key: fn.optional(),
  shadow: z.boolean().optional(),
  shadowTimeoutMs: ms.optional(),
  rollback: z
    .strictObject({
      failureRate: rate.optional(),
      maxP95Ms: ms.optional(),
      mismatchRate: rate.optional(),
      windowMs: ms.optional(),
      minimumCalls: z.number().int().min(1).max(1_000_000).optional(),
    })
    .optional(),
  userId: fn.optional(),
});

/**
 * Moves login onto a new store (a new table, database or ORM) a share of
 * users at a time, sticky per user, with shadow comparison first and a
 * rollback that happens by itself. Pass the result as `providers`; the
 * providers themselves are checked there, with the rest of the options.
 *
 * A user is in the candidate bucket when {@link rolloutBucket} of `name` and
 * its key is at most `percent`. A candidate call that cannot answer falls
 * back to the control within the same deadline. When the candidate's failure
 * rate, p95 latency or (shadow) mismatch rate passes its threshold, every
 * login goes back to the control, `onRollback` fires and `health().rollout`
 * says why, until `auth.resumeRollout(name)`.
 *
 * @example
 * ```ts
 * const auth = createResilientAuth({
 *   providers: rollout({
 *     name: 'users-v2',
 *     control: [prismaProvider, sqlProvider],
 *     candidate: [pgProvider({ connectionString: process.env.ACCOUNTS_DB_URL, table: 'accounts' })],
 *     percent: 10,
 *     shadow: true, // compare first; set false to let the candidate decide
 *   }),
 *   hooks: { onShadowMismatch: (e) => log.warn('users-v2 disagrees', e) },
 * });
 * ```
 * @throws {@link ConfigError} naming the first invalid option.
 */
export function rollout<U = AuthUser>(options: RolloutOptions<U>): Rollout<U> {
  return parseRollout(options, 'rollout');
}

/** True for what {@link rollout} made (or an object shaped like it): `providers` is then two chains. */
export function isRollout<U>(value: unknown): value is Rollout<U> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    (value as { kind?: unknown }).kind === 'rollout'
  );
}

/** Validates a rollout's own options (not its providers) and fills in the defaults. */
export function parseRollout<U>(options: RolloutOptions<U>, at: string): Rollout<U> {
  const parsed = rolloutSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError([at, ...issue.path].join('.'), issue.message, { cause: parsed.error });
  }
  return Object.freeze({
    kind: 'rollout',
    name: options.name,
    control: Object.freeze([...options.control]),
    candidate: Object.freeze([...options.candidate]),
    percent: options.percent,
    key: options.key ?? lowerCase,
    shadow: options.shadow ?? false,
    shadowTimeoutMs: options.shadowTimeoutMs ?? DEFAULT_SHADOW_TIMEOUT_MS,
    rollback: Object.freeze({ ...ROLLBACK_DEFAULTS, ...options.rollback }),
    userId: options.userId ?? idOf,
  });
}

function lowerCase(identifier: string): string {
  return identifier.toLowerCase();
}

function idOf(user: unknown): unknown {
  return typeof user === 'object' && user !== null ? (user as { id?: unknown }).id : undefined;
}
