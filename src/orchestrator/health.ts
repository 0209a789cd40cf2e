import type { FailureKind } from '../errors/errors.js';
import type { CircuitStateName } from '../hooks/events.js';

/** Overall service state: primary serving, a fallback serving, or none can. */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/** One provider in a {@link HealthSnapshot}. */
export interface ProviderHealth {
  readonly name: string;
  readonly state: CircuitStateName;
  /** Most recent failure (lookup or probe); the message has credentials redacted. */
  readonly lastFailure?: {
    readonly message: string;
    readonly code?: string;
    readonly kind: FailureKind;
    /** What to look at first, by kind. */
    readonly hint: string;
    readonly at: Date;
  };
  readonly lastSuccessAt?: Date;
}

/** What `auth.health()` returns: a synchronous snapshot, no I/O. */
export interface HealthSnapshot {
  readonly status: HealthStatus;
  readonly providers: readonly ProviderHealth[];
}

/** One provider's active probe in a {@link CheckReport}. */
export interface ProviderCheck {
  readonly name: string;
  /** False when the provider has no `check()`; then `ok` is true and says nothing. */
  readonly probed: boolean;
  readonly ok: boolean;
  readonly durationMs: number;
  readonly error?: {
    readonly message: string;
    readonly code?: string;
    readonly kind: FailureKind;
    readonly hint: string;
  };
}

/** What `await auth.check()` returns. */
export interface CheckReport {
  /** True when every probe passed. */
  readonly ok: boolean;
  readonly providers: readonly ProviderCheck[];
  /** `health()` right after the probes. */
  readonly health: HealthSnapshot;
}
