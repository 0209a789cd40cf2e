import { z } from 'zod';
import { ConfigError } from '../errors/errors.js';
import type { AuthHooks } from '../hooks/events.js';
import type { Logger } from '../hooks/logger.js';
import type { PasswordVerifier } from '../password/verifier.js';
import type { AuthProvider, AuthUser } from '../providers/provider.js';
import type { Clock } from './clock.js';

/** Retry of transient failures on the same provider. */
export interface RetryOptions {
  /** Attempts per provider per call, the first included. `1` disables retries. Default: `2`. */
  readonly maxAttempts?: number;
  /** First backoff delay; doubles each retry, with full jitter between half and all of it. Default: `25`. */
  readonly baseDelayMs?: number;
  /** Longest backoff delay. Default: `250`. */
  readonly maxDelayMs?: number;
}

/** Opens after this many "could not answer" failures in a row. */
export interface ConsecutiveBreakerOptions {
  readonly consecutiveFailures: number;
}

/** Opens when the failure rate over a sliding window passes `failureRate`. */
export interface FailureRateBreakerOptions {
  /** Between 0 and 1, e.g. `0.5`. */
  readonly failureRate: number;
  /** Sliding window length. */
  readonly windowMs: number;
  /** Below this request rate the breaker never opens. Default: cockatiel's (5 per second). */
  readonly minimumRps?: number;
}

/**
 * Resilience policy of one provider: `retry(breaker(timeout(lookup)))`.
 * Give it globally (`policy`) and override per provider (`{ provider, policy }`);
 * the override is merged field by field over the global one.
 */
export interface PolicyOptions {
  /** Per lookup attempt; the signal passed to the provider aborts then. Default: `1000`. */
  readonly timeoutMs?: number;
  /** Default: `{ maxAttempts: 2, baseDelayMs: 25, maxDelayMs: 250 }`. */
  readonly retry?: RetryOptions;
  /** Default: `{ consecutiveFailures: 5 }`. */
  readonly breaker?: ConsecutiveBreakerOptions | FailureRateBreakerOptions;
  /** How long an open breaker skips the provider before one trial call. Default: `10000`. */
  readonly halfOpenAfterMs?: number;
}

/** A provider with its own policy overrides. */
export interface ProviderWithPolicy<U = AuthUser> {
  readonly provider: AuthProvider<U>;
  readonly policy?: PolicyOptions;
}

/** How the providers relate. See the README's "Modes". */
export type AuthMode = 'failover' | 'federated';

/** Options of `createResilientAuth`. Validated at construction; a bad one throws {@link ConfigError}. */
export interface ResilientAuthOptions<U = AuthUser> {
  /** In order of preference; the first is the primary. Names must be unique. */
  readonly providers: readonly (AuthProvider<U> | ProviderWithPolicy<U>)[];
  /** Default: `'failover'`. */
  readonly mode?: AuthMode;
  /** Bound on all provider I/O of one `authenticate()` call (lookups, retries, backoff). Default: `3000`. */
  readonly deadlineMs?: number;
  /** Policy for every provider. Default: see {@link PolicyOptions}. */
  readonly policy?: PolicyOptions;
  /** One hook set or several. Default: none. */
  readonly hooks?: AuthHooks | readonly AuthHooks[];
  /** Default: `bcryptVerifier()` (bcryptjs in a worker pool sized to the machine). */
  readonly verifier?: PasswordVerifier;
  /** Default: `Date.now()`. */
  readonly clock?: Clock;
  /** Where failing hooks and the like are reported. Default: console. */
  readonly logger?: Logger;
}

/** A policy with every default filled in. */
export interface ResolvedPolicy {
  readonly timeoutMs: number;
  readonly retry: Required<RetryOptions>;
  readonly breaker: ConsecutiveBreakerOptions | FailureRateBreakerOptions;
  readonly halfOpenAfterMs: number;
}

const ms = z.number().int().positive().max(2_147_483_647);
const retrySchema = z.strictObject({
  maxAttempts: z.number().int().min(1).max(10).optional(),
  baseDelayMs: z.number().int().min(0).max(60_000).optional(),
  maxDelayMs: z.number().int().min(0).max(60_000).optional(),
});
const breakerSchema = z.union([
  z.strictObject({ consecutiveFailures: z.number().int().min(1).max(1000) }),
  z.strictObject({
    failureRate: z.number().gt(0).max(1),
    windowMs: ms,
    minimumRps: z.number().positive().optional(),
  }),
]);
const policySchema = z.strictObject({
  timeoutMs: ms.optional(),
  retry: retrySchema.optional(),
  breaker: breakerSchema.optional(),
  halfOpenAfterMs: ms.optional(),
});
const fn = z.custom<(...args: never[]) => unknown>(
  (v) => typeof v === 'function',
  'expected a function',
);
const providerSchema = z.looseObject({
  name: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[\w.:@/-]+$/, 'letters, digits and . _ - : @ / only'),
  findAccount: fn,
  check: fn.optional(),
  close: fn.optional(),
});
const entrySchema = z.union([
  providerSchema,
  z.strictObject({ provider: providerSchema, policy: policySchema.optional() }),
]);
const hookSetSchema = z.record(z.string(), fn);
const optionsSchema = z.strictObject({
  providers: z.array(entrySchema).min(1, 'at least one provider is required'),
  mode: z.enum(['failover', 'federated']).optional(),
  deadlineMs: ms.optional(),
  policy: policySchema.optional(),
  hooks: z.union([hookSetSchema, z.array(hookSetSchema)]).optional(),
  verifier: z
    .looseObject({ verify: fn, isWellFormed: fn, dummyHash: fn, close: fn.optional() })
    .optional(),
  clock: z.looseObject({ now: fn }).optional(),
  logger: z.looseObject({ warn: fn, error: fn }).optional(),
});

/** Default policy values; documented in {@link PolicyOptions}. */
export const DEFAULT_POLICY: ResolvedPolicy = Object.freeze({
  timeoutMs: 1000,
  retry: Object.freeze({ maxAttempts: 2, baseDelayMs: 25, maxDelayMs: 250 }),
  breaker: Object.freeze({ consecutiveFailures: 5 }),
  halfOpenAfterMs: 10_000,
});

/** Default overall deadline of one `authenticate()` call. */
export const DEFAULT_DEADLINE_MS = 3000;

/** Throws a {@link ConfigError} naming the first bad option. */
export function validateOptions(options: unknown): void {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const { path, message } = deepestIssue(parsed.error.issues, []);
    throw new ConfigError(path.length ? path.join('.') : 'options', message, {
      cause: parsed.error,
    });
  }
  const { providers } = options as ResilientAuthOptions<unknown>;
  const seen = new Set<string>();
  providers.forEach((entry, i) => {
    const name = 'provider' in entry ? entry.provider.name : entry.name;
    if (seen.has(name)) {
      throw new ConfigError(`providers.${i}.name`, `duplicate provider name "${name}"`);
    }
    seen.add(name);
  });
}

/** Merges a provider's overrides over the global policy over the defaults. */
export function resolvePolicy(global?: PolicyOptions, own?: PolicyOptions): ResolvedPolicy {
  return Object.freeze({
    timeoutMs: own?.timeoutMs ?? global?.timeoutMs ?? DEFAULT_POLICY.timeoutMs,
    retry: Object.freeze({ ...DEFAULT_POLICY.retry, ...global?.retry, ...own?.retry }),
    breaker: Object.freeze({ ...(own?.breaker ?? global?.breaker ?? DEFAULT_POLICY.breaker) }),
    halfOpenAfterMs:
      own?.halfOpenAfterMs ?? global?.halfOpenAfterMs ?? DEFAULT_POLICY.halfOpenAfterMs,
  });
}

type Issue = z.core.$ZodIssue;

/** The first issue, looking into union branches so the message names the real culprit. */
function deepestIssue(
  issues: readonly Issue[],
  prefix: readonly PropertyKey[],
): { path: PropertyKey[]; message: string } {
  const issue = issues[0];
  if (!issue) return { path: [...prefix], message: 'invalid' };
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // Prefer the branch that got furthest (the longest path), e.g. a provider missing findAccount.
    const branches = issue.errors.map((branch) => deepestIssue(branch, path));
    return branches.reduce((best, b) => (b.path.length > best.path.length ? b : best));
  }
  return { path, message: issue.message };
}
