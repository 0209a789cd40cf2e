import { failureHint } from '../errors/classify.js';
import type { Failure } from '../errors/errors.js';
import type { CircuitStateName, HookSetHealth, ThrottleStoreName } from '../hooks/events.js';
import type { RolloutHealth } from '../rollout/rollout-state.js';
import type { ProviderSlot } from './provider-slot.js';

/** Overall service state: primary serving, a fallback serving, or none can. */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/** A {@link Failure} as `health()` and `check()` show it: message, code, kind and what to check first. */
export type FailureDescription = Pick<Failure, 'message' | 'kind'> & {
  readonly code?: string;
  /** What to look at first, by kind. */
  readonly hint: string;
};

/** One provider in a {@link HealthSnapshot}. */
export interface ProviderHealth {
  readonly name: string;
  readonly state: CircuitStateName;
  /** Most recent failure (lookup or probe); the message has credentials redacted. */
  readonly lastFailure?: FailureDescription & { readonly at: Date };
  readonly lastSuccessAt?: Date;
  /** How long its last lookup that answered took, in milliseconds (retries included). */
  readonly lastLatencyMs?: number;
  /**
   * While it may not be called now: the milliseconds until it may (the rest
   * of an open breaker's half-open wait; `Infinity` while isolated). Absent
   * when it may be called: its breaker is closed, or open with the wait over
   * (the next call is its trial).
   */
  readonly retryInMs?: number;
}

/** What `auth.health()` returns: a synchronous snapshot, no I/O. */
export interface HealthSnapshot {
  readonly status: HealthStatus;
  readonly providers: readonly ProviderHealth[];
  /**
   * The throttle, when configured: where it counts, and whether its shared
   * store answers (false: counting in this process's memory meanwhile).
   */
  readonly throttle?: { readonly store: ThrottleStoreName; readonly storeOk: boolean };
  /** What each hook set with a `health()` (an audit sink, say) reports. Absent when none has one. */
  readonly hookSets?: readonly HookSetHealth[];
  /** Break-glass access, when configured (`createResilientAuth({ emergency })`). */
  readonly emergency?: EmergencyHealth;
  /** The rollout, when `providers` is one: its state, why it rolled back, its window's counts. */
  readonly rollout?: RolloutHealth;
}

/** Break-glass access in a {@link HealthSnapshot}: no identifier, no hash. */
export interface EmergencyHealth {
  /** How many emergency accounts are configured. */
  readonly accounts: number;
  readonly expiresAt: Date;
  /** True once `expiresAt` has passed (by the authenticator's clock): the accounts are refused. */
  readonly expired: boolean;
}

/** One provider's active probe in a {@link CheckReport}. */
export interface ProviderCheck {
  readonly name: string;
  /** False when the provider has no `check()`; then `ok` is true and says nothing. */
  readonly probed: boolean;
  readonly ok: boolean;
  readonly durationMs: number;
  readonly error?: FailureDescription;
}

/** What `await auth.check()` returns. */
export interface CheckReport {
  /** True when every probe passed. */
  readonly ok: boolean;
  readonly providers: readonly ProviderCheck[];
  /** `health()` right after the probes. */
  readonly health: HealthSnapshot;
}

/** Derives what health and check show from the one failure record. */
export function describeFailure({ message, code, kind }: Failure): FailureDescription {
  return { message, ...(code === undefined ? {} : { code }), kind, hint: failureHint(kind) };
}

/** A provider's breaker state, last failure and last success. */
export function providerHealth(slot: ProviderSlot<unknown>): ProviderHealth {
  const last = slot.lastFailure;
  const successAtMs = slot.lastSuccessAtMs;
  const latencyMs = slot.lastLatencyMs;
  const retryInMs = slot.retryInMs();
  return {
    name: slot.name,
    state: slot.state,
    ...(last && { lastFailure: { ...describeFailure(last.failure), at: new Date(last.atMs) } }),
    ...(successAtMs !== undefined && { lastSuccessAt: new Date(successAtMs) }),
    ...(latencyMs !== undefined && { lastLatencyMs: latencyMs }),
    ...(retryInMs > 0 && { retryInMs }),
  };
}
