import type { Failure, FailureKind } from '../errors/errors.js';
import type { HealthSnapshot } from '../orchestrator/health.js';
import type { ProviderNotice } from '../providers/provider.js';

/**
 * A {@link Failure} as events carry it: everything but the raw error object,
 * whose own message is not redacted. `message` is.
 */
export type FailureSummary = Omit<Failure, 'error'>;

/** The request context the caller passed to `authenticate()`, echoed to hooks. */
export interface RequestContext {
  readonly ip?: string;
  readonly userAgent?: string;
  readonly requestId?: string;
}

/**
 * One `authenticate()` call: the same object in every event the call causes,
 * a new one per call. Key a `WeakMap` with it to join a call's events (into a
 * trace span, say); nothing leaks when a call's last event never comes.
 */
export interface AuthCall {
  /** Counts the calls of one authenticator from 1: for logs, not unique across processes. */
  readonly id: number;
}

/** The precise reason of a rejection. Goes to hooks only, never to the caller. */
export type RejectionCause =
  | 'invalid_input'
  | 'unknown_identifier'
  | 'wrong_password'
  | 'malformed_hash'
  | 'account_disabled'
  | 'account_locked'
  | 'rate_limited';

/** A breaker's state as health and events report it. */
export type CircuitStateName = 'closed' | 'open' | 'half-open' | 'isolated';

/** Every {@link CircuitStateName}: the states a one-hot state metric reports. */
export const CIRCUIT_STATES = Object.freeze([
  'closed',
  'open',
  'half-open',
  'isolated',
] as const) satisfies readonly CircuitStateName[];

// Compile-time: the list above names every state.
true satisfies CircuitStateName extends (typeof CIRCUIT_STATES)[number] ? true : false;

/**
 * One `authenticate()` call started, its input checked: `onAttempt` or
 * `onUnavailable` ends it. Fired synchronously inside `authenticate()`, so a
 * hook sees the caller's async context (its active trace span, say).
 */
export interface AttemptStartEvent {
  readonly call: AuthCall;
  readonly context: RequestContext;
}

/** One `authenticate()` call finished with an answer (not with an exception). */
export type AttemptEvent =
  | {
      readonly outcome: 'authenticated';
      readonly call: AuthCall;
      readonly identifier: string;
      readonly provider: string;
      readonly degraded: boolean;
      readonly durationMs: number;
      readonly context: RequestContext;
    }
  | {
      readonly outcome: 'rejected';
      readonly call: AuthCall;
      readonly cause: RejectionCause;
      /** With cause `rate_limited`: the throttle limit that refused it. */
      readonly limit?: ThrottleLimitName;
      /** Absent when the identifier itself was invalid input. */
      readonly identifier?: string;
      /** The provider that answered; absent for invalid input. */
      readonly provider?: string;
      readonly degraded: boolean;
      readonly durationMs: number;
      readonly context: RequestContext;
    };

/**
 * One lookup attempt on one provider failed: the attempt's {@link Failure}
 * (without the raw error), numbered, with what happens next.
 */
export type ProviderFailureEvent = Omit<FailureSummary, 'attempts' | 'skipped'> & {
  /** 1-based attempt number on this provider within this call. */
  readonly attempt: number;
  /** True when the same provider will be tried again after a backoff. */
  readonly willRetry: boolean;
  /** The rollout's name when the lookup ran for a shadow comparison (the caller's answer did not depend on it). */
  readonly shadow?: string;
  readonly call: AuthCall;
  readonly context: RequestContext;
};

/**
 * What one lookup attempt on a provider came to. `cancelled`: a hedged lookup
 * lost the race to another provider's answer and was cancelled through its
 * signal; neither an answer nor a failure (no breaker count, no `onProviderFailure`).
 */
export type LookupResult = 'found' | 'not_found' | 'failed' | 'cancelled';

/**
 * One lookup attempt on one provider ended: an account found, none (both
 * answers), or a failure (which `onProviderFailure` details). Skipped
 * providers (breaker open, deadline passed) are not looked up: no event.
 */
export interface LookupEvent {
  readonly provider: string;
  readonly result: LookupResult;
  /** 1-based attempt number on this provider within this call. */
  readonly attempt: number;
  /** This attempt alone, in milliseconds (a failure's `durationMs` counts every attempt). */
  readonly durationMs: number;
  /** With result `failed`: its kind. */
  readonly kind?: FailureKind;
  /** With result `failed`: the SQLSTATE, errno or library code, when known. */
  readonly code?: string;
  /**
   * True on a hedge: a lookup started because the provider before it had not
   * answered after its `hedgeAfterMs`. Count them for the extra load hedging
   * costs (hedged lookups / logins). Absent otherwise.
   */
  readonly hedged?: true;
  /** The rollout's name when the lookup ran for a shadow comparison (the caller's answer did not depend on it). */
  readonly shadow?: string;
  readonly call: AuthCall;
  readonly context: RequestContext;
}

/** The answer came from a provider after earlier ones could not answer. */
export interface FallbackEvent {
  /** The provider that answered. */
  readonly provider: string;
  /** The providers that could not answer before it. */
  readonly failures: readonly FailureSummary[];
  readonly call: AuthCall;
  readonly context: RequestContext;
}

/** A provider's circuit breaker changed state. */
export interface CircuitStateChangeEvent {
  readonly provider: string;
  readonly from: CircuitStateName;
  readonly to: CircuitStateName;
}

/** Edge-triggered: service started coming from a fallback. */
export interface DegradedEvent {
  /** The first provider, which is not serving. */
  readonly primary: string;
  /** The provider now serving. */
  readonly provider: string;
  readonly failures: readonly FailureSummary[];
}

/** Edge-triggered: the first provider serves again. */
export interface RecoveredEvent {
  readonly provider: string;
}

/** The `provider` of the one failure when the password could not be checked after a lookup answered. */
export const VERIFIER_FAILURE_PROVIDER = 'password-verifier';

/**
 * No provider could answer, or the password could not be checked (provider
 * `password-verifier`: `VERIFIER_FAILED`, or `OVERLOADED` when shed);
 * `authenticate()` threw `AuthUnavailableError`.
 */
export interface UnavailableEvent {
  /** The identifier as given. */
  readonly identifier: string;
  readonly failures: readonly FailureSummary[];
  readonly durationMs: number;
  readonly call: AuthCall;
  readonly context: RequestContext;
}

/** A stored password hash was empty or malformed: the login was denied. Fix the account's data. */
export interface InvalidHashEvent {
  readonly provider: string;
  readonly identifier: string;
}

/**
 * A provider answered but had to work around the live schema: optional columns
 * it expected are missing and were left out of its query. Emitted when the
 * provider reads the schema, not on every login.
 */
export interface SchemaDriftEvent extends ProviderNotice {
  readonly provider: string;
}

/**
 * A correct password met a hash weaker than the verifier's target (lower
 * cost, another algorithm, or made from a password not in the configured
 * Unicode normalization form). Store `hash` for `user` to upgrade it; the
 * same hash is on the result as `rehash`.
 */
export interface RehashEvent {
  readonly user: unknown;
  readonly provider: string;
  /** The new hash, made by the verifier's `hash()`. */
  readonly hash: string;
  readonly call: AuthCall;
  readonly context: RequestContext;
}

/**
 * A limit of the throttle: `consecutive` failures per identifier and IP,
 * failures per `ip`, failures per `account`.
 */
export type ThrottleLimitName = 'consecutive' | 'ip' | 'account';

/** Which store a throttle keeps its counters in. */
export type ThrottleStoreName = 'memory' | 'postgres' | 'redis';

/**
 * Edge-triggered: the throttle's shared store (PostgreSQL or Redis) failed or
 * timed out; the limits are counted in this process's memory until it
 * answers again. No login was refused or granted because of it.
 */
export interface ThrottleStoreFailureEvent {
  readonly store: ThrottleStoreName;
  /** Why, with credentials redacted. */
  readonly message: string;
}

/** Edge-triggered: the throttle's shared store answers again. */
export interface ThrottleStoreRecoveredEvent {
  readonly store: ThrottleStoreName;
}

/** What one side of a shadow comparison would have answered the caller. */
export type ShadowOutcome =
  | 'authenticated'
  | 'invalid_credentials'
  | 'account_disabled'
  | 'account_locked';

/** One side of a shadow comparison: outcome, the provider that answered, and the user id when an account was found. */
export interface ShadowSide {
  readonly outcome: ShadowOutcome;
  readonly provider: string;
  /** The found account's user id (the rollout's `userId`), as a string. Absent when none was found. */
  readonly userId?: string;
}

/**
 * Shadow mode: the candidate chain would have answered this login otherwise
 * than the control did (another outcome, or another user). The caller got the
 * control's answer; nothing was written for the candidate.
 */
export interface ShadowMismatchEvent {
  /** The rollout's name. */
  readonly rollout: string;
  readonly identifier: string;
  readonly control: ShadowSide;
  readonly candidate: ShadowSide;
  readonly call: AuthCall;
  readonly context: RequestContext;
}

/** Why a rollout went back to its control by itself. */
export type RollbackReason = 'failure_rate' | 'latency' | 'mismatch_rate';

/**
 * A rollout went back to its control: every login takes the control (and no
 * shadow runs) until `auth.resumeRollout(rollout)`.
 */
export interface RollbackEvent {
  readonly rollout: string;
  readonly reason: RollbackReason;
  /**
   * The share observed over the window: failed calls, calls slower than the
   * p95 bound (rolled back above 0.05), or mismatched comparisons.
   */
  readonly observed: number;
  /** The share it passed. */
  readonly threshold: number;
  /** Calls (comparisons, for `mismatch_rate`) in the window. */
  readonly calls: number;
  readonly windowMs: number;
}

/** An operator resumed a rolled-back rollout (`auth.resumeRollout`). */
export interface RolloutResumedEvent {
  readonly rollout: string;
}

/**
 * Why a break-glass login was refused: a `wrong_password`, accounts past their
 * `expiresAt`, a password that could not be checked (`check_failed`: the
 * verifier shed or failed, or the `user` option threw), or not checked at all
 * because its address used up its failed checks (`rate_limited`).
 */
export type EmergencyRefusal = 'wrong_password' | 'expired' | 'check_failed' | 'rate_limited';

/**
 * An emergency account (`createResilientAuth({ emergency })`) was used while
 * no provider could answer: granted, or refused with why. Meant to page
 * someone. Never fired while a provider answers, nor for identifiers that are
 * not emergency accounts. Carries no password and no hash.
 */
export type EmergencyAccessEvent = {
  /** The emergency account's identifier. */
  readonly identifier: string;
  /** When the emergency accounts stop (or stopped) working. */
  readonly expiresAt: Date;
  /** Why no provider could answer: one per provider. */
  readonly failures: readonly FailureSummary[];
  readonly call: AuthCall;
  readonly context: RequestContext;
} & (
  | { readonly granted: true }
  | {
      readonly granted: false;
      readonly refusal: EmergencyRefusal;
    }
);

/** What a hook set holding resources (an audit sink, say) reports in `auth.health()`. */
export interface HookSetHealth {
  /** Which hook set, e.g. `audit`. */
  readonly name: string;
  /** False when it is failing to do its job (its store is down, say). */
  readonly ok: boolean;
  /** Why not ok, with credentials redacted. */
  readonly message?: string;
  /** Its counters, e.g. `{ buffered: 12, written: 340, dropped: 0 }`. */
  readonly counts: Readonly<Record<string, number>>;
}

/**
 * The authenticator as a hook set sees it through `attach()`: what it can
 * read at any time, such as a metrics scrape.
 */
export interface AttachedAuth {
  /** The providers' names, in order. */
  readonly providers: readonly string[];
  /** The same synchronous snapshot as `auth.health()`. */
  health(): HealthSnapshot;
}

/**
 * A set of callbacks, all optional. Install several (alerting, audit,
 * metrics). A hook that throws or rejects is caught and logged; it never
 * changes the outcome nor delays the answer, because hooks are never awaited.
 * No event carries a password or a stored hash (`onRehash` carries the new
 * hash, which is there to be stored).
 */
export interface AuthHooks {
  onAttemptStart?(event: AttemptStartEvent): void | Promise<void>;
  onAttempt?(event: AttemptEvent): void | Promise<void>;
  onLookup?(event: LookupEvent): void | Promise<void>;
  onProviderFailure?(event: ProviderFailureEvent): void | Promise<void>;
  onFallback?(event: FallbackEvent): void | Promise<void>;
  onCircuitStateChange?(event: CircuitStateChangeEvent): void | Promise<void>;
  onDegraded?(event: DegradedEvent): void | Promise<void>;
  onRecovered?(event: RecoveredEvent): void | Promise<void>;
  onUnavailable?(event: UnavailableEvent): void | Promise<void>;
  onInvalidHash?(event: InvalidHashEvent): void | Promise<void>;
  onSchemaDrift?(event: SchemaDriftEvent): void | Promise<void>;
  onRehash?(event: RehashEvent): void | Promise<void>;
  onThrottleStoreFailure?(event: ThrottleStoreFailureEvent): void | Promise<void>;
  onThrottleStoreRecovered?(event: ThrottleStoreRecoveredEvent): void | Promise<void>;
  onShadowMismatch?(event: ShadowMismatchEvent): void | Promise<void>;
  onRollback?(event: RollbackEvent): void | Promise<void>;
  onRolloutResumed?(event: RolloutResumedEvent): void | Promise<void>;
  onEmergencyAccess?(event: EmergencyAccessEvent): void | Promise<void>;
  /**
   * Not an event: a hook set holding resources reports here, and
   * `auth.health()` lists what it says under `hookSets`.
   */
  health?(): HookSetHealth;
  /**
   * Not an event: called once by `auth.close()` after the calls in flight
   * finished, so a hook set can flush what it buffered. Awaited (bound your
   * own time: an audit sink flushes within its `closeTimeoutMs`).
   */
  close?(): Promise<void>;
  /**
   * Not an event: called once by `createResilientAuth()`, when the
   * authenticator is built, with what a hook set may read later (metrics read
   * the breakers' states at scrape time). Read nothing from it during the
   * call. A throw fails the creation with a `ConfigError`.
   */
  attach?(auth: AttachedAuth): void;
}

/** Names of the events a hook set can listen to. */
export type AuthHookName = Exclude<keyof AuthHooks, 'health' | 'close' | 'attach'>;

/** Every hook name, in the order of {@link AuthHooks}. */
export const AUTH_HOOK_NAMES = Object.freeze([
  'onAttemptStart',
  'onAttempt',
  'onLookup',
  'onProviderFailure',
  'onFallback',
  'onCircuitStateChange',
  'onDegraded',
  'onRecovered',
  'onUnavailable',
  'onInvalidHash',
  'onSchemaDrift',
  'onRehash',
  'onThrottleStoreFailure',
  'onThrottleStoreRecovered',
  'onShadowMismatch',
  'onRollback',
  'onRolloutResumed',
  'onEmergencyAccess',
] as const) satisfies readonly AuthHookName[];

// Compile-time: the list above names every hook of AuthHooks.
true satisfies AuthHookName extends (typeof AUTH_HOOK_NAMES)[number] ? true : false;

/** The event a hook receives. */
export type AuthHookEvent<K extends AuthHookName> = Parameters<NonNullable<AuthHooks[K]>>[0];
