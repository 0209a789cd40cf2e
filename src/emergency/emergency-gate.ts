import { RateLimiterMemory } from 'rate-limiter-flexible';
import { safeMessage } from '../errors/classify.js';
import type { Failure } from '../errors/errors.js';
import { ResilientAuthError } from '../errors/errors.js';
import type { EventSink } from '../hooks/dispatch.js';
import type { EmergencyRefusal } from '../hooks/events.js';
import type { Logger } from '../hooks/logger.js';
import type { Clock } from '../orchestrator/clock.js';
import {
  type Attempt,
  inForm,
  type VerifyPolicy,
  verifyWait,
} from '../orchestrator/credential-decision.js';
import type { EmergencyHealth } from '../orchestrator/health.js';
import type { AuthSuccess } from '../orchestrator/result.js';
import { summaries } from '../orchestrator/serving-state.js';
import type { PasswordVerifier } from '../password/verifier.js';
import {
  EMERGENCY_FAILED_CHECKS,
  EMERGENCY_FAILED_CHECKS_WINDOW_MS,
  EMERGENCY_PROVIDER,
  type EmergencyPlan,
} from './emergency-provider.js';

/**
 * What consulting the emergency accounts came to: granted with this result,
 * or not (`undefined`: the call answers as without emergency access).
 */
export type EmergencyVerdict<U> = { readonly granted: AuthSuccess<U> } | undefined;

/** What the gate uses of the authenticator. */
export interface EmergencyDeps {
  readonly verifier: PasswordVerifier;
  readonly policy: Pick<VerifyPolicy, 'verifyWaitMs' | 'deadlineMs' | 'normalize'>;
  readonly clock: Clock;
  readonly events: EventSink;
  readonly logger: Logger;
}

const NOT_GRANTED = undefined;

/**
 * Checks that did not grant, per IP address, before the address's checks are
 * skipped: {@link EMERGENCY_FAILED_CHECKS} per
 * {@link EMERGENCY_FAILED_CHECKS_WINDOW_MS}.
 */
function failedCheckBudget(): RateLimiterMemory {
  return new RateLimiterMemory({
    points: EMERGENCY_FAILED_CHECKS,
    duration: EMERGENCY_FAILED_CHECKS_WINDOW_MS / 1000,
  });
}

/**
 * Break-glass access at run time: consulted only when every provider of the
 * chain could not answer and the accounts have not expired. Every password
 * it sees costs one verification (against a dummy hash of the same cost when
 * the identifier is not an emergency account), so the answer and its time
 * tell nothing about which identifiers are emergency accounts. Never rehashes.
 */
export class EmergencyGate<U> {
  readonly #plan: EmergencyPlan<U>;
  readonly #deps: EmergencyDeps;
  readonly #dummyHash: string;
  readonly #failedChecks = failedCheckBudget();
  #expiryReported = false;

  constructor(plan: EmergencyPlan<U>, deps: EmergencyDeps) {
    this.#plan = plan;
    this.#deps = deps;
    // Every emergency hash has the same cost (emergencyProvider checks it).
    const [sample] = plan.hashes.values();
    this.#dummyHash = deps.verifier.dummyHash(sample);
  }

  /**
   * Consults the emergency accounts after the chain gave no answer.
   * `providers` are the chain's providers: unless each of them could not
   * answer (federated: a store answered "not found" while another failed), the
   * accounts are not consulted.
   */
  async consult(
    failures: readonly Failure[],
    attempt: Attempt,
    providers: readonly { readonly name: string }[],
  ): Promise<EmergencyVerdict<U>> {
    const failed = new Set(failures.map((f) => f.provider));
    if (providers.length === 0 || !providers.every(({ name }) => failed.has(name))) {
      return NOT_GRANTED;
    }
    const hash = this.#plan.hashes.get(attempt.identifier);
    if (this.expired) {
      this.#reportExpiry();
      if (hash !== undefined) this.#report(attempt, failures, 'expired');
      return NOT_GRANTED;
    }
    // Every check that does not grant spends the address's budget, whatever
    // the identifier: neither the answer, nor its time, nor the main throttle
    // (which counts none of these) tells an emergency identifier from another.
    const source = attempt.context.ip ?? '';
    if (((await this.#failedChecks.get(source))?.remainingPoints ?? 1) <= 0) {
      if (hash !== undefined) this.#report(attempt, failures, 'rate_limited');
      return NOT_GRANTED;
    }
    let matches: boolean;
    try {
      matches = await this.#verify(attempt, hash ?? this.#dummyHash);
    } catch (error) {
      if (hash !== undefined) {
        this.#deps.logger.warn('emergency access: the password could not be checked', {
          identifier: attempt.identifier,
          // The code only: a verifier's message may quote the hash.
          code: error instanceof ResilientAuthError ? error.code : 'VERIFIER_FAILED',
        });
        this.#report(attempt, failures, 'check_failed');
      }
      return NOT_GRANTED;
    }
    // A dummy hash never grants, whatever the verifier said.
    if (hash === undefined || !matches) {
      await this.#failedChecks.penalty(source, 1);
      if (hash !== undefined) this.#report(attempt, failures, 'wrong_password');
      return NOT_GRANTED;
    }
    let user: U;
    try {
      user = this.#plan.user(attempt.identifier);
    } catch (error) {
      this.#deps.logger.error('emergency access: the user option threw; access not granted', {
        identifier: attempt.identifier,
        error: safeMessage(error),
      });
      this.#report(attempt, failures, 'check_failed');
      return NOT_GRANTED;
    }
    this.#report(attempt, failures, undefined);
    this.#deps.events.emit('onAttempt', () => ({
      outcome: 'authenticated',
      identifier: attempt.identifier,
      provider: EMERGENCY_PROVIDER,
      degraded: true,
      durationMs: performance.now() - attempt.started,
      call: attempt.call,
      context: attempt.context,
    }));
    return {
      granted: {
        ok: true,
        user,
        provider: EMERGENCY_PROVIDER,
        degraded: true,
        mustChangePassword: false,
        emergency: true,
      },
    };
  }

  /** True once `expiresAt` has passed by the authenticator's clock. */
  get expired(): boolean {
    return this.#deps.clock.now() >= this.#plan.expiresAtMs;
  }

  health(): EmergencyHealth {
    return {
      accounts: this.#plan.hashes.size,
      expiresAt: new Date(this.#plan.expiresAtMs),
      expired: this.expired,
    };
  }

  /** One verification, waiting for a thread at most what the policy allows, as a normal login's. */
  async #verify(attempt: Attempt, hash: string): Promise<boolean> {
    const { policy, verifier } = this.#deps;
    const password = inForm(attempt.password, policy.normalize);
    return (await verifier.verify(password, hash, verifyWait(policy, attempt))) === true;
  }

  #report(
    attempt: Attempt,
    failures: readonly Failure[],
    refusal: EmergencyRefusal | undefined,
  ): void {
    this.#deps.events.emit('onEmergencyAccess', () => ({
      identifier: attempt.identifier,
      expiresAt: new Date(this.#plan.expiresAtMs),
      failures: summaries(failures),
      call: attempt.call,
      context: attempt.context,
      ...(refusal === undefined
        ? { granted: true as const }
        : { granted: false as const, refusal }),
    }));
  }

  /** Once: the first call that would have consulted the accounts after they expired. */
  #reportExpiry(): void {
    if (this.#expiryReported) return;
    this.#expiryReported = true;
    this.#deps.logger.warn(
      'emergency access expired: its accounts are refused; remove the emergency option (or set a new expiresAt) and redeploy',
      { expiresAt: new Date(this.#plan.expiresAtMs).toISOString() },
    );
  }
}
