import { z } from 'zod';
import {
  type EmergencyAccess,
  type EmergencyPlan,
  emergencyAccessSchema,
  planEmergency,
} from '../emergency/emergency-provider.js';
import { ConfigError } from '../errors/errors.js';
import { AUTH_HOOK_NAMES, type AuthHooks } from '../hooks/events.js';
import { consoleLogger, type Logger } from '../hooks/logger.js';
import type { PasswordVerifier } from '../password/verifier.js';
import type { AuthProvider, AuthUser } from '../providers/provider.js';
import { isRollout, parseRollout, type Rollout } from '../rollout/rollout.js';
import { type ThrottleOptions, throttleOptionsSchema } from '../throttle/throttle-options.js';
import { type Clock, systemClock } from './clock.js';

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
 * The slow-call breaker: a provider's breaker also opens when too many of its
 * lookups are slow, even though they answer (a brownout: the store is up but
 * crawling). resilience4j's `slowCallDurationThreshold` /
 * `slowCallRateThreshold`. A slow lookup still returns its answer.
 */
export interface SlowCallOptions {
  /** A lookup that takes longer than this (on the injected clock, per attempt) is slow. Required. */
  readonly slowCallMs: number;
  /** Share of slow lookups over the window, between 0 and 1, at or above which the breaker opens. Default: `0.5`. */
  readonly rate?: number;
  /** Sliding window the share is taken over, on the injected clock. Default: `30000`. */
  readonly windowMs?: number;
  /** Below this many lookups in the window the breaker never opens for slowness. Default: `20`. */
  readonly minimumCalls?: number;
}

/** {@link SlowCallOptions} with every default filled in. */
export type ResolvedSlowCalls = Readonly<Required<SlowCallOptions>>;

/** Defaults of {@link SlowCallOptions} (all but the required `slowCallMs`). */
export const DEFAULT_SLOW_CALLS: Readonly<Required<Omit<SlowCallOptions, 'slowCallMs'>>> =
  Object.freeze({ rate: 0.5, windowMs: 30_000, minimumCalls: 20 });

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
  /**
   * Also open the breaker when too many lookups are slow; see
   * {@link SlowCallOptions}. `false` turns off one inherited from the global
   * policy. Default: `false` (off).
   */
  readonly slowCalls?: SlowCallOptions | false;
  /**
   * Hedged lookups (failover mode only): when this provider has not answered
   * after this many milliseconds, the next provider whose breaker lets it be
   * called is asked too; the first answer wins and the other lookup is
   * cancelled through its signal. `'p95'`: after this provider's observed
   * 95th percentile lookup latency (over its last 200 lookups; no hedging
   * before 20). At most one hedge per call, within the call's deadline. Costs
   * extra lookups: each hedge is an `onLookup` event with `hedged: true`.
   * `false` turns off one inherited from the global policy. Default: `false` (off).
   */
  readonly hedgeAfterMs?: number | 'p95' | false;
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
  /**
   * In order of preference; the first is the primary. Names must be unique.
   * Or a {@link Rollout} of two chains, made by `rollout()`: its control
   * chain is then the primary path, its candidate chain the one rolled out.
   */
  readonly providers: readonly (AuthProvider<U> | ProviderWithPolicy<U>)[] | Rollout<U>;
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
  /**
   * Longest a password check may wait for a verifier thread. A login that
   * cannot start its check in time is shed at once: `AuthUnavailableError`
   * with a `password-verifier` failure of code `OVERLOADED` (kind
   * `overloaded`), instead of queueing long after its caller gave up.
   * Default: what is left of {@link deadlineMs} when the lookup answered.
   */
  readonly verifyWaitMs?: number;
  /**
   * Unicode normalization of passwords before they are verified (and
   * rehashed), as NIST 800-63B recommends, so a password typed as NFD on one
   * keyboard matches the NFC it was set with. Hash new passwords the same way
   * (`hashPassword(password, { normalize: 'NFKC' })`). Opt-in: hashes made
   * before were made from passwords as typed; with it on, a password that
   * matches only as typed still logs in and gets a new hash (`result.rehash`,
   * `onRehash`, when the verifier can hash), which migrates them.
   * Default: none (verified exactly as received).
   */
  readonly normalize?: 'NFKC';
  /**
   * Rehash on login: when a correct password meets a hash weaker than the
   * verifier's target (its `needsRehash`), or matched only un-normalized, the
   * verifier hashes it again and the result carries `rehash` (and `onRehash`
   * fires) for the app to store. It costs one more hash, so it runs only when
   * someone stores it: turn it on, or install an `onRehash` hook (which turns
   * it on). Otherwise a user base with cheaper hashes than the target would pay
   * a full hash at the target on every login. Default: `true` when a hook set
   * has `onRehash`, else `false`.
   */
  readonly rehash?: boolean;
  /**
   * Brute-force protection, checked before any lookup or password check: a
   * throttled attempt answers `rate_limited` with `retryAfterMs` at the cost of
   * the throttle's counter reads (one per limit, in parallel). Counts wrong passwords and unknown identifiers alike;
   * never invalid input nor an outage. See {@link ThrottleOptions} for the
   * limits and stores. Default: off.
   */
  readonly throttle?: ThrottleOptions;
  /** Default: `Date.now()`. */
  readonly clock?: Clock;
  /** Where failing hooks and the like are reported. Default: console. */
  readonly logger?: Logger;
  /**
   * Break-glass access made by `emergencyProvider()`: operator accounts
   * consulted only when no provider of the chain could answer, until their
   * `expiresAt` (at most 30 days after the authenticator is built, by
   * {@link clock}). See the README's "Break-glass access". Default: none.
   */
  readonly emergency?: EmergencyAccess<U>;
}

/** A policy with every default filled in. */
export interface ResolvedPolicy {
  readonly timeoutMs: number;
  readonly retry: Required<RetryOptions>;
  readonly breaker: ConsecutiveBreakerOptions | FailureRateBreakerOptions;
  readonly halfOpenAfterMs: number;
  /** Undefined: off. */
  readonly slowCalls: ResolvedSlowCalls | undefined;
  /** Undefined: off. */
  readonly hedgeAfterMs: number | 'p95' | undefined;
}

/** The options as the core uses them: validated, defaults filled in, each provider with its policy. */
export interface ParsedOptions<U> {
  readonly providers: readonly {
    readonly provider: AuthProvider<U>;
    readonly policy: ResolvedPolicy;
  }[];
  /** The rollout, when `providers` was one: then `providers` holds its control chain, then its candidate chain. */
  readonly rollout: Rollout<U> | undefined;
  readonly mode: AuthMode;
  readonly deadlineMs: number;
  readonly hooks: readonly AuthHooks[];
  /** Undefined: the default `bcryptVerifier()`, built by the caller with {@link logger}. */
  readonly verifier: PasswordVerifier | undefined;
  /** Undefined: what is left of the deadline. */
  readonly verifyWaitMs: number | undefined;
  readonly normalize: 'NFKC' | undefined;
  readonly rehash: boolean;
  readonly throttle: ThrottleOptions | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Break-glass access, checked against {@link clock} and {@link verifier}. */
  readonly emergency: EmergencyPlan<U> | undefined;
}

/** Default policy values; documented in {@link PolicyOptions}. */
export const DEFAULT_POLICY: Readonly<Required<Omit<PolicyOptions, 'retry'>>> & {
  readonly retry: Readonly<Required<RetryOptions>>;
} = Object.freeze({
  timeoutMs: 1000,
  retry: Object.freeze({ maxAttempts: 2, baseDelayMs: 25, maxDelayMs: 250 }),
  breaker: Object.freeze({ consecutiveFailures: 5 }),
  halfOpenAfterMs: 10_000,
  slowCalls: false,
  hedgeAfterMs: false,
});

/** Default overall deadline of one `authenticate()` call. */
export const DEFAULT_DEADLINE_MS = 3000;

// Compile-time: a schema covers exactly the options of its type, no more, no less.
type SameKeys<A, B> = [keyof A] extends [keyof B]
  ? [keyof B] extends [keyof A]
    ? true
    : false
  : false;

const ms = z.number().int().positive().max(2_147_483_647);

const retrySchema = z.strictObject({
  maxAttempts: z.number().int().min(1).max(10).optional(),
  baseDelayMs: z.number().int().min(0).max(60_000).optional(),
  maxDelayMs: z.number().int().min(0).max(60_000).optional(),
}) satisfies z.ZodType<RetryOptions>;
true satisfies SameKeys<RetryOptions, z.infer<typeof retrySchema>>;

const breakerSchema = z.union([
  z.strictObject({ consecutiveFailures: z.number().int().min(1).max(1000) }),
  z.strictObject({
    failureRate: z.number().gt(0).max(1),
    windowMs: ms,
    minimumRps: z.number().positive().optional(),
  }),
]) satisfies z.ZodType<ConsecutiveBreakerOptions | FailureRateBreakerOptions>;

const slowCallsSchema = z.strictObject({
  slowCallMs: ms,
  rate: z.number().gt(0).max(1).optional(),
  windowMs: ms.optional(),
  minimumCalls: z.number().int().min(1).max(1_000_000).optional(),
}) satisfies z.ZodType<SlowCallOptions>;
true satisfies SameKeys<SlowCallOptions, z.infer<typeof slowCallsSchema>>;

const policySchema = z.strictObject({
  timeoutMs: ms.optional(),
  retry: retrySchema.optional(),
  breaker: breakerSchema.optional(),
  halfOpenAfterMs: ms.optional(),
  slowCalls: z.union([slowCallsSchema, z.literal(false)]).optional(),
  hedgeAfterMs: z.union([ms, z.literal('p95'), z.literal(false)]).optional(),
}) satisfies z.ZodType<PolicyOptions>;
true satisfies SameKeys<PolicyOptions, z.infer<typeof policySchema>>;

type Members = Readonly<Record<string, unknown>>;
type Report = (path: string | undefined, message: string) => void;

/**
 * An object checked in place and passed through as is, never copied: class
 * instances (methods on the prototype), getters and identity survive.
 */
function inPlace<T>(check: (value: Members, report: Report) => void) {
  return z.custom<T>().superRefine((value, ctx) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message: 'expected an object' });
      return;
    }
    check(value as Members, (path, message) =>
      ctx.addIssue({ code: 'custom', message, path: path === undefined ? [] : [path] }),
    );
  });
}

/** Each required member (own or inherited) is a function; each optional one is a function or absent. */
function functions(
  value: Members,
  report: Report,
  required: readonly string[],
  optional: readonly string[] = [],
): void {
  for (const name of required) {
    if (typeof value[name] !== 'function') report(name, 'expected a function');
  }
  for (const name of optional) {
    if (value[name] !== undefined && typeof value[name] !== 'function') {
      report(name, 'expected a function');
    }
  }
}

const PROVIDER_NAME = /^[\w.:@/-]{1,100}$/;

const providerSchema = inPlace<AuthProvider<unknown>>((provider, report) => {
  if (typeof provider.name !== 'string' || !PROVIDER_NAME.test(provider.name)) {
    report('name', 'expected 1 to 100 letters, digits or . _ - : @ /');
  }
  functions(provider, report, ['findAccount'], ['check', 'close']);
});

const entrySchema = z.union([
  providerSchema,
  z.strictObject({ provider: providerSchema, policy: policySchema.optional() }),
]);

const KNOWN_HOOKS: ReadonlySet<string> = new Set(AUTH_HOOK_NAMES);

/**
 * A hook set: any object whose hook names (and `health`, `close`, `attach`) resolve to
 * functions, own or inherited. A member named like a hook (`onSomething`) that is not one is
 * refused, so a typo cannot silently lose an alert.
 */
const hookSetSchema = inPlace<AuthHooks>((set, report) => {
  functions(set, report, [], [...AUTH_HOOK_NAMES, 'health', 'close', 'attach']);
  const unknown = hookLikeNames(set).filter((name) => !KNOWN_HOOKS.has(name));
  if (unknown.length > 0) {
    report(
      unknown.length === 1 ? unknown[0] : undefined,
      `unknown hook${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}; the hooks are ${AUTH_HOOK_NAMES.join(', ')}`,
    );
  }
});

/** Names of the form `onSomething` along the prototype chain, short of Object.prototype. */
function hookLikeNames(set: object): string[] {
  const names = new Set<string>();
  for (
    let o: object | null = set;
    o !== null && o !== Object.prototype;
    o = Object.getPrototypeOf(o)
  ) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (/^on[A-Z]/.test(name)) names.add(name);
    }
  }
  return [...names];
}

const verifierSchema = inPlace<PasswordVerifier>((verifier, report) => {
  functions(
    verifier,
    report,
    ['verify', 'isWellFormed', 'dummyHash'],
    ['needsRehash', 'hash', 'close'],
  );
  if ((verifier.needsRehash === undefined) !== (verifier.hash === undefined)) {
    report(
      verifier.hash === undefined ? 'hash' : 'needsRehash',
      'needsRehash and hash come together: give both or neither',
    );
  }
  const max = verifier.maxPasswordBytes;
  if (max !== undefined && !(Number.isInteger(max) && (max as number) > 0)) {
    report('maxPasswordBytes', 'expected a positive integer');
  }
});

const optionsSchema = z.strictObject({
  providers: z.array(entrySchema).min(1, 'at least one provider is required'),
  mode: z.enum(['failover', 'federated']).optional(),
  deadlineMs: ms.optional(),
  policy: policySchema.optional(),
  hooks: z.union([z.array(hookSetSchema), hookSetSchema]).optional(),
  verifier: verifierSchema.optional(),
  verifyWaitMs: z.number().int().min(0).max(2_147_483_647).optional(),
  normalize: z.literal('NFKC').optional(),
  rehash: z.boolean().optional(),
  throttle: throttleOptionsSchema.optional(),
  clock: inPlace<Clock>((clock, report) => functions(clock, report, ['now'])).optional(),
  logger: inPlace<Logger>((logger, report) =>
    functions(logger, report, ['warn', 'error']),
  ).optional(),
  emergency: emergencyAccessSchema.optional(),
}) satisfies z.ZodType<ResilientAuthOptions<unknown>>;
true satisfies SameKeys<ResilientAuthOptions<unknown>, z.infer<typeof optionsSchema>>;

/**
 * Validates the options and returns them parsed, with every default filled
 * in. Throws a {@link ConfigError} naming the first bad option.
 */
export function parseOptions<U>(options: ResilientAuthOptions<U>): ParsedOptions<U> {
  const rollout = isRollout<U>(options?.providers)
    ? parseRollout(options.providers, 'providers')
    : undefined;
  const parsed = optionsSchema.safeParse(
    rollout ? { ...options, providers: [...rollout.control, ...rollout.candidate] } : options,
  );
  if (!parsed.success) {
    const { path, message } = deepestIssue(parsed.error.issues, []);
    throw new ConfigError(path.length ? chainPath(path, rollout).join('.') : 'options', message, {
      cause: parsed.error,
    });
  }
  const { data } = parsed;
  const providers = data.providers.map((entry) =>
    'provider' in entry
      ? {
          provider: entry.provider as AuthProvider<U>,
          policy: resolvePolicy(data.policy, entry.policy),
        }
      : { provider: entry as AuthProvider<U>, policy: resolvePolicy(data.policy, undefined) },
  );
  const hooks =
    data.hooks === undefined ? [] : Array.isArray(data.hooks) ? data.hooks : [data.hooks];
  const seen = new Set<string>();
  providers.forEach(({ provider }, i) => {
    if (seen.has(provider.name)) {
      throw new ConfigError(
        chainPath(['providers', i, 'name'], rollout).join('.'),
        `duplicate provider name "${provider.name}"${rollout ? ' (names are unique across both chains of a rollout)' : ''}`,
      );
    }
    seen.add(provider.name);
  });
  // Federated: the next provider is another store, asked only when this one has no such account.
  const hedged = providers.findIndex(({ policy }) => policy.hedgeAfterMs !== undefined);
  if (hedged !== -1 && data.mode === 'federated') {
    const own = data.providers[hedged];
    throw new ConfigError(
      own !== undefined && 'policy' in own && own.policy?.hedgeAfterMs
        ? chainPath(['providers', hedged, 'policy', 'hedgeAfterMs'], rollout).join('.')
        : 'policy.hedgeAfterMs',
      'hedged lookups need mode "failover": federated providers hold different stores, so a hedge would not ask the same question',
    );
  }
  return {
    providers,
    rollout,
    mode: data.mode ?? 'failover',
    deadlineMs: data.deadlineMs ?? DEFAULT_DEADLINE_MS,
    hooks,
    verifier: data.verifier,
    verifyWaitMs: data.verifyWaitMs,
    normalize: data.normalize,
    rehash: data.rehash ?? hooks.some((set) => typeof set.onRehash === 'function'),
    throttle: data.throttle,
    clock: data.clock ?? systemClock,
    logger: data.logger ?? consoleLogger,
    emergency:
      data.emergency &&
      planEmergency(data.emergency as EmergencyAccess<U>, data.clock ?? systemClock, data.verifier),
  };
}

/** `providers.<i>...` as the user wrote it: `providers.control.<i>` or `providers.candidate.<i>` in a rollout. */
function chainPath(
  path: readonly PropertyKey[],
  rollout: { readonly control: readonly unknown[] } | undefined,
): PropertyKey[] {
  const [head, index, ...rest] = path;
  if (rollout === undefined || head !== 'providers' || typeof index !== 'number') return [...path];
  const inControl = index < rollout.control.length;
  return [
    'providers',
    inControl ? 'control' : 'candidate',
    inControl ? index : index - rollout.control.length,
    ...rest,
  ];
}

/** Merges a provider's overrides over the global policy over the defaults. */
function resolvePolicy(global?: PolicyOptions, own?: PolicyOptions): ResolvedPolicy {
  return Object.freeze({
    timeoutMs: own?.timeoutMs ?? global?.timeoutMs ?? DEFAULT_POLICY.timeoutMs,
    retry: Object.freeze({ ...DEFAULT_POLICY.retry, ...global?.retry, ...own?.retry }),
    breaker: Object.freeze({ ...(own?.breaker ?? global?.breaker ?? DEFAULT_POLICY.breaker) }),
    halfOpenAfterMs:
      own?.halfOpenAfterMs ?? global?.halfOpenAfterMs ?? DEFAULT_POLICY.halfOpenAfterMs,
    slowCalls: resolveSlowCalls(own?.slowCalls ?? global?.slowCalls ?? DEFAULT_POLICY.slowCalls),
    hedgeAfterMs:
      (own?.hedgeAfterMs ?? global?.hedgeAfterMs ?? DEFAULT_POLICY.hedgeAfterMs) || undefined,
  });
}

function resolveSlowCalls(options: SlowCallOptions | false): ResolvedSlowCalls | undefined {
  return options === false ? undefined : Object.freeze({ ...DEFAULT_SLOW_CALLS, ...options });
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
