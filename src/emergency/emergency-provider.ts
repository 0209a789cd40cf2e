import { z } from 'zod';
import { safeMessage } from '../errors/classify.js';
import { ConfigError } from '../errors/errors.js';
import { parseFactoryOptions } from '../errors/factory-options.js';
import type { Clock } from '../orchestrator/clock.js';
import { MAX_IDENTIFIER_LENGTH } from '../orchestrator/credentials.js';
import { bcryptCost } from '../password/bcrypt-hash.js';
import type { PasswordVerifier } from '../password/verifier.js';

/** The `provider` of an emergency login's result and `onAttempt` event. */
export const EMERGENCY_PROVIDER = 'emergency';

/** The furthest `expiresAt` may be from the authenticator's clock when it is built: 30 days. */
export const MAX_EMERGENCY_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000;

/**
 * Checks against the emergency accounts that may fail per IP address (any
 * identifier, known or not) within {@link EMERGENCY_FAILED_CHECKS_WINDOW_MS}
 * during an outage; beyond it the address's checks are skipped, and its calls
 * answer `AuthUnavailableError` as without emergency access. Calls without an
 * IP in their context share one budget.
 */
export const EMERGENCY_FAILED_CHECKS = 5;

/** The window of {@link EMERGENCY_FAILED_CHECKS}: 15 minutes. */
export const EMERGENCY_FAILED_CHECKS_WINDOW_MS = 15 * 60 * 1000;

/** The lowest bcrypt cost an emergency hash may have: the cost `hashPassword()` uses by default. */
export const MIN_EMERGENCY_BCRYPT_COST = 10;

/** One operator account of {@link emergencyProvider}. */
export interface EmergencyAccount {
  /** What the operator types as the identifier, matched exactly (case included). */
  readonly identifier: string;
  /** A bcrypt hash (`$2a$`, `$2b$`, `$2y$`) of cost 10 or more; never the password. */
  readonly passwordHash: string;
}

/** The user an emergency login returns without a `user` option. */
export type EmergencyUser = { readonly id: string; readonly emergency: true };

/** Options of {@link emergencyProvider}. */
export interface EmergencyProviderOptions<U = EmergencyUser> {
  /**
   * The operator accounts, at least one, each identifier once. Every hash is
   * a well-formed bcrypt hash of cost 10 or more, all of the same cost (so
   * an unknown identifier costs what a known one costs); anything else
   * (a password in plain text, a hash mangled by shell `$` expansion) is
   * refused. Read them from the environment with
   * {@link emergencyAccountsFromEnv}.
   */
  readonly accounts: readonly EmergencyAccount[];
  /**
   * When the accounts stop working: a `Date`, or an ISO 8601 date-time with
   * a time zone (`2026-03-01T12:00:00Z`). Required. It must be in the future
   * and at most 30 days ahead ({@link MAX_EMERGENCY_LIFETIME_MS}) when
   * `createResilientAuth()` is built, by its `clock`. Its type takes
   * `undefined` so that `process.env.BREAK_GLASS_EXPIRES_AT` can be given as
   * is: undefined or empty is refused (a `ConfigError`), like any other value
   * that is not a date.
   */
  readonly expiresAt: Date | string | undefined;
  /**
   * The user an emergency login returns, from the identifier. Called once per
   * account when the options are checked (a throw is a `ConfigError`) and on
   * each grant. Default: `{ id: identifier, emergency: true }`.
   */
  readonly user?: (identifier: string) => U;
}

/**
 * Break-glass access, as {@link emergencyProvider} builds it for
 * `createResilientAuth({ emergency })`. It shows no identifier and no hash:
 * printing it or the options is safe.
 */
export interface EmergencyAccess<U = EmergencyUser> {
  /** The `provider` of an emergency login's result: {@link EMERGENCY_PROVIDER}. */
  readonly provider: typeof EMERGENCY_PROVIDER;
  /** How many accounts there are. */
  readonly accounts: number;
  /** When they stop working. */
  readonly expiresAt: Date;
  /** The user an emergency login with `identifier` returns. */
  readonly user: (identifier: string) => U;
}

/** What the core needs of an {@link EmergencyAccess}, once checked against the authenticator. */
export interface EmergencyPlan<U> {
  /** Identifier to bcrypt hash. */
  readonly hashes: ReadonlyMap<string, string>;
  readonly expiresAtMs: number;
  readonly user: (identifier: string) => U;
}

interface Secrets {
  readonly hashes: ReadonlyMap<string, string>;
  readonly expiresAtMs: number;
}

// The hashes live here, not on the object the app holds, so that printing
// the options never shows them.
const SECRETS = new WeakMap<object, Secrets>();

const CONTROL = /\p{Cc}/u;

const NOT_A_HASH =
  'is not a bcrypt hash ($2a$, $2b$ or $2y$, a cost from 04 to 31, 53 characters of salt and digest): give the hash, never the password (make one with hashPassword()); a hash read from the environment may have lost its "$" parts to shell expansion (quote it with single quotes)';

const accountSchema = z.strictObject({
  identifier: z
    .string({ error: 'expected a string' })
    .min(1, 'must not be empty')
    .max(MAX_IDENTIFIER_LENGTH, `longer than ${MAX_IDENTIFIER_LENGTH} characters`)
    .refine((s) => !CONTROL.test(s), 'contains a control character'),
  passwordHash: z
    .string({ error: 'expected a string' })
    .refine((hash) => bcryptCost(hash) !== undefined, NOT_A_HASH)
    .refine(
      (hash) => (bcryptCost(hash) ?? MIN_EMERGENCY_BCRYPT_COST) >= MIN_EMERGENCY_BCRYPT_COST,
      `a bcrypt cost below ${MIN_EMERGENCY_BCRYPT_COST}: too cheap for an account that opens everything (hashPassword() uses ${MIN_EMERGENCY_BCRYPT_COST})`,
    ),
});

const ISO_DATE_TIME = z.iso.datetime({ offset: true });

const optionsSchema = z.strictObject({
  accounts: z
    .array(accountSchema, { error: 'expected an array of { identifier, passwordHash }' })
    .min(1, 'at least one account is required')
    .max(100, 'at most 100 accounts: break-glass access is for a few operators'),
  expiresAt: z.unknown().transform((value, ctx) => {
    const ms = expiryMs(value);
    if (ms !== undefined) return ms;
    ctx.addIssue({
      code: 'custom',
      message:
        value === undefined || value === ''
          ? 'is required: emergency access must expire (a Date or an ISO 8601 date-time with a time zone, at most 30 days ahead)'
          : 'expected a valid Date or an ISO 8601 date-time with a time zone, e.g. 2026-03-01T12:00:00Z',
    });
    return z.NEVER;
  }),
  user: z
    .custom<(identifier: string) => unknown>((v) => typeof v === 'function', {
      error: 'expected a function',
    })
    .optional(),
});

/** Milliseconds since the epoch of a valid Date or ISO 8601 date-time with a time zone; undefined otherwise. */
function expiryMs(value: unknown): number | undefined {
  const ms =
    value instanceof Date
      ? value.getTime()
      : ISO_DATE_TIME.safeParse(value).success
        ? Date.parse(value as string)
        : Number.NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

const defaultUser = (identifier: string): EmergencyUser =>
  Object.freeze({ id: identifier, emergency: true });

/**
 * Break-glass access for operators when every provider is down: accounts
 * given as bcrypt hashes (from the environment, never in plain text) that
 * `createResilientAuth({ emergency })` consults only when no provider of the
 * chain could answer, and that stop working at `expiresAt`. A login with one
 * returns `{ ok: true, provider: 'emergency', degraded: true, emergency: true }`
 * and fires `onEmergencyAccess`, meant to page someone. While any provider
 * answers, these identifiers are unknown like any other.
 *
 * @example
 * ```ts
 * const auth = createResilientAuth({
 *   providers: [ormLookup, rawSql],
 *   emergency: emergencyProvider({
 *     accounts: emergencyAccountsFromEnv(process.env.BREAK_GLASS_ACCOUNTS),
 *     expiresAt: process.env.BREAK_GLASS_EXPIRES_AT,
 *   }),
 *   hooks: { onEmergencyAccess: (e) => pager.page(`break-glass login by ${e.identifier}`) },
 * });
 * ```
 * @throws {@link ConfigError} naming the bad option (`emergencyProvider.accounts.0.passwordHash`), never quoting a hash.
 */
export function emergencyProvider<U>(
  options: EmergencyProviderOptions<U> & { readonly user: (identifier: string) => U },
): EmergencyAccess<U>;
export function emergencyProvider(
  options: EmergencyProviderOptions<EmergencyUser>,
): EmergencyAccess<EmergencyUser>;
export function emergencyProvider<U>(options: EmergencyProviderOptions<U>): EmergencyAccess<U> {
  const data = parseFactoryOptions('emergencyProvider', optionsSchema, options);
  const hashes = new Map<string, string>();
  let cost: number | undefined;
  data.accounts.forEach(({ identifier, passwordHash }, i) => {
    if (hashes.has(identifier)) {
      const first = data.accounts.findIndex((a) => a.identifier === identifier);
      throw new ConfigError(
        `emergencyProvider.accounts.${i}.identifier`,
        `the same identifier as accounts.${first}: each operator gets one account`,
      );
    }
    const own = bcryptCost(passwordHash);
    cost ??= own;
    if (own !== cost) {
      throw new ConfigError(
        `emergencyProvider.accounts.${i}.passwordHash`,
        `bcrypt cost ${own} differs from accounts.0's ${cost}: give every emergency hash the same cost, so that an unknown identifier costs what a known one costs`,
      );
    }
    hashes.set(identifier, passwordHash);
  });
  const user =
    (data.user as ((identifier: string) => U) | undefined) ??
    (defaultUser as (identifier: string) => U);
  for (const [i, { identifier }] of data.accounts.entries()) {
    try {
      user(identifier);
    } catch (error) {
      throw new ConfigError(
        'emergencyProvider.user',
        `threw for accounts.${i}: ${safeMessage(error)}`,
        {
          cause: error,
        },
      );
    }
  }
  const expiresAtMs = data.expiresAt;
  const access: EmergencyAccess<U> = Object.freeze({
    provider: EMERGENCY_PROVIDER,
    accounts: hashes.size,
    expiresAt: new Date(expiresAtMs),
    user,
  });
  SECRETS.set(access, { hashes, expiresAtMs });
  return access;
}

/** True for what {@link emergencyProvider} returned (in this copy of the library). */
export function isEmergencyAccess(value: unknown): value is EmergencyAccess<unknown> {
  return typeof value === 'object' && value !== null && SECRETS.has(value);
}

/** The schema of `createResilientAuth({ emergency })`: only what {@link emergencyProvider} returns. */
export const emergencyAccessSchema = z.custom<EmergencyAccess<unknown>>(isEmergencyAccess, {
  error: 'expected what emergencyProvider() returns',
});

/**
 * Checks break-glass access against the authenticator it is given to: its
 * expiry is ahead of `clock` by at most {@link MAX_EMERGENCY_LIFETIME_MS},
 * and `verifier` (when not the default bcrypt one) can check its hashes.
 * @throws {@link ConfigError} on `emergency.expiresAt` or `emergency.accounts`.
 */
export function planEmergency<U>(
  access: EmergencyAccess<U>,
  clock: Clock,
  verifier: PasswordVerifier | undefined,
): EmergencyPlan<U> {
  const secrets = SECRETS.get(access);
  if (secrets === undefined) {
    throw new ConfigError('emergency', 'expected what emergencyProvider() returns');
  }
  const aheadMs = secrets.expiresAtMs - clock.now();
  if (!(aheadMs > 0)) {
    throw new ConfigError(
      'emergency.expiresAt',
      `is already past (${new Date(secrets.expiresAtMs).toISOString()}): set a new expiry, at most 30 days ahead`,
    );
  }
  if (aheadMs > MAX_EMERGENCY_LIFETIME_MS) {
    throw new ConfigError(
      'emergency.expiresAt',
      `is more than 30 days ahead (${new Date(secrets.expiresAtMs).toISOString()}): break-glass access is for an outage, not a standing way in`,
    );
  }
  if (verifier !== undefined) {
    for (const hash of secrets.hashes.values()) {
      if (!verifier.isWellFormed(hash)) {
        throw new ConfigError(
          'emergency.accounts',
          'the verifier cannot check bcrypt hashes (its isWellFormed refuses them): use bcryptVerifier(), nativeBcryptVerifier() or a multiFormatVerifier() that includes one',
        );
      }
    }
  }
  return { hashes: secrets.hashes, expiresAtMs: secrets.expiresAtMs, user: access.user };
}
