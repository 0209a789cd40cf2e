import { safeMessage } from '../errors/classify.js';
import { AuthUnavailableError, failureOf, ResilientAuthError } from '../errors/errors.js';
import type { EventSink } from '../hooks/dispatch.js';
import type { RejectionCause, RequestContext } from '../hooks/events.js';
import type { PasswordVerifier } from '../password/verifier.js';
import type { Account } from '../providers/provider.js';
import type { Clock } from './clock.js';
import type { Answer } from './provider-chain.js';
import type { AuthResult } from './result.js';
import { summaries } from './serving-state.js';

/** One `authenticate()` call, as far as the decision needs it. */
export interface Attempt {
  readonly identifier: string;
  readonly password: string;
  readonly context: RequestContext;
  /** `performance.now()` when the call started. */
  readonly started: number;
}

/**
 * Decides a login once a provider answered: verifies the password exactly
 * once (against a dummy hash when there is no account or its hash is
 * malformed, so every miss costs what a real check costs), then reveals the
 * account's state only after a correct password. Reports every answer to
 * `onAttempt`.
 */
export class CredentialDecision<U> {
  #dummyHash: string;

  constructor(
    private readonly verifier: PasswordVerifier,
    private readonly clock: Clock,
    private readonly events: EventSink,
  ) {
    this.#dummyHash = verifier.dummyHash(undefined);
  }

  async decide(answer: Answer<U>, attempt: Attempt): Promise<AuthResult<U>> {
    const { account, provider } = answer;
    const degraded = answer.failures.length > 0;
    let cause: RejectionCause | undefined;
    let hash: string;
    if (account === null) {
      cause = 'unknown_identifier';
      hash = this.#dummyHash;
    } else if (
      typeof account.passwordHash !== 'string' ||
      !this.verifier.isWellFormed(account.passwordHash)
    ) {
      cause = 'malformed_hash';
      hash = this.#dummyHash;
      this.events.emit('onInvalidHash', () => ({ provider, identifier: attempt.identifier }));
    } else {
      hash = account.passwordHash;
      this.#dummyHash = this.verifier.dummyHash(hash);
    }

    let matches: boolean;
    try {
      matches = await this.verifier.verify(attempt.password, hash);
    } catch (error) {
      throw this.#verifierFailed(error, attempt);
    }
    // A dummy or malformed hash never grants, whatever the verifier said.
    if (account === null || cause !== undefined || matches !== true) {
      this.rejected(cause ?? 'wrong_password', attempt, provider, degraded);
      return { ok: false, reason: 'invalid_credentials' };
    }
    if (account.active !== true) {
      this.rejected('account_disabled', attempt, provider, degraded);
      return { ok: false, reason: 'account_disabled' };
    }
    const lockedForMs = this.#lockedForMs(account.lockedUntil);
    if (lockedForMs > 0) {
      this.rejected('account_locked', attempt, provider, degraded);
      return { ok: false, reason: 'account_locked', retryAfterMs: lockedForMs };
    }
    this.events.emit('onAttempt', () => ({
      outcome: 'authenticated',
      identifier: attempt.identifier,
      provider,
      degraded,
      durationMs: performance.now() - attempt.started,
      context: attempt.context,
    }));
    return {
      ok: true,
      user: account.user,
      provider,
      degraded,
      mustChangePassword: account.mustChangePassword === true,
    };
  }

  /** Reports a rejection, with its precise cause, to `onAttempt`. */
  rejected(
    cause: RejectionCause,
    attempt: Pick<Attempt, 'context' | 'started'> & { readonly identifier?: string },
    provider?: string,
    degraded = false,
  ): void {
    this.events.emit('onAttempt', () => ({
      outcome: 'rejected',
      cause,
      ...(attempt.identifier === undefined ? {} : { identifier: attempt.identifier }),
      ...(provider === undefined ? {} : { provider }),
      degraded,
      durationMs: performance.now() - attempt.started,
      context: attempt.context,
    }));
  }

  /** The lookup answered but the password could not be checked: that is "cannot decide" too. */
  #verifierFailed(error: unknown, attempt: Attempt): AuthUnavailableError {
    const failed =
      error instanceof ResilientAuthError && error.code === 'VERIFIER_FAILED'
        ? error
        : new ResilientAuthError(
            'VERIFIER_FAILED',
            `password verification failed: ${safeMessage(error)}`,
            { cause: error },
          );
    const failure = failureOf('password-verifier', failed, {
      attempts: 1,
      durationMs: performance.now() - attempt.started,
    });
    this.events.emit('onUnavailable', () => ({
      identifier: attempt.identifier,
      failures: summaries([failure]),
      durationMs: failure.durationMs,
      context: attempt.context,
    }));
    // No cause: the raw error (which may quote the hash) stays in the failure, non-enumerable.
    return new AuthUnavailableError(failure.message, [failure]);
  }

  /** Milliseconds until the lock lifts; a value that is not a valid date locks (fail closed). */
  #lockedForMs(lockedUntil: Account<U>['lockedUntil']): number {
    if (lockedUntil === undefined || lockedUntil === null) return 0;
    const until =
      lockedUntil instanceof Date ? lockedUntil.getTime() : new Date(lockedUntil).getTime();
    if (Number.isNaN(until)) return Number.MAX_SAFE_INTEGER;
    return Math.max(0, until - this.clock.now());
  }
}
