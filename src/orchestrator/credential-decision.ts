import { safeMessage } from '../errors/classify.js';
import { AuthUnavailableError, failureOf, ResilientAuthError } from '../errors/errors.js';
import type { EventSink } from '../hooks/dispatch.js';
import {
  type RejectionCause,
  type ThrottleLimitName,
  VERIFIER_FAILURE_PROVIDER,
} from '../hooks/events.js';
import type { Logger } from '../hooks/logger.js';
import type { PasswordVerifier, VerifyOptions } from '../password/verifier.js';
import { lockedForMs } from './account-lock.js';
import type { CallScope } from './call-scope.js';
import type { Clock } from './clock.js';
import type { Answer } from './provider-chain.js';
import type { AuthResult } from './result.js';
import { summaries } from './serving-state.js';

/** One `authenticate()` call, as far as the decision needs it. */
export interface Attempt extends CallScope {
  readonly identifier: string;
  readonly password: string;
  /** `performance.now()` when the call started. */
  readonly started: number;
}

/** How the decision checks passwords, from the options. */
export interface VerifyPolicy {
  /** Bound on a verification's wait for a thread; undefined: what is left of `deadlineMs`. */
  readonly verifyWaitMs: number | undefined;
  readonly deadlineMs: number;
  /** Unicode normalization applied to the password before verifying and rehashing. */
  readonly normalize: 'NFKC' | undefined;
  /** Whether a weaker hash that matched gets a new one (someone stores it). */
  readonly rehash: boolean;
}

/** What checking a password against one hash found. */
interface Match {
  readonly matches: boolean;
  /** Matched only as typed, not in the configured normalization form: a hash to upgrade. */
  readonly unnormalized: boolean;
}

const CHECKED_AND_REFUSED = new WeakSet<Error>();

const DUMMY_VOTES_HALVED_AT = 1024;
const REHASH_WAIT: VerifyOptions = Object.freeze({ maxWaitMs: 0 });

/**
 * True when `authenticate()` threw after a password check already refused the
 * guess (with `normalize`, the second form could not be checked): the throttle
 * counts it as a failure, so overload cannot hide guesses from it.
 */
export function guessWasRefused(error: unknown): boolean {
  return error instanceof Error && CHECKED_AND_REFUSED.has(error);
}

/** How long a login's password check may wait for a thread: `verifyWaitMs`, or what is left of the deadline. */
export function verifyWait(
  { verifyWaitMs, deadlineMs }: Pick<VerifyPolicy, 'verifyWaitMs' | 'deadlineMs'>,
  { started }: Pick<Attempt, 'started'>,
): VerifyOptions {
  return { maxWaitMs: verifyWaitMs ?? Math.max(0, deadlineMs - (performance.now() - started)) };
}

/** The password in the configured normalization form; as typed without one. */
export function inForm(password: string, form: 'NFKC' | undefined): string {
  return form === undefined ? password : password.normalize(form);
}

const MATCHED: Match = Object.freeze({ matches: true, unnormalized: false });
const MISMATCHED: Match = Object.freeze({ matches: false, unnormalized: false });
const MATCHED_UNNORMALIZED: Match = Object.freeze({ matches: true, unnormalized: true });

/**
 * Decides a login once a provider answered: verifies the password exactly
 * once (against a dummy hash when there is no account or its hash is
 * malformed, so every miss costs what a real check costs), then reveals the
 * account's state only after a correct password. Reports every answer to
 * `onAttempt`.
 */
export class CredentialDecision<U> {
  #dummyHash: string;
  /** How often each dummy (one per format and cost) stood for a real hash found lately. */
  readonly #dummyVotes = new Map<string, number>();

  constructor(
    private readonly verifier: PasswordVerifier,
    private readonly policy: VerifyPolicy,
    private readonly clock: Clock,
    private readonly events: EventSink,
    private readonly logger: Logger,
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
      this.#vote(this.verifier.dummyHash(hash));
    }

    const { matches, unnormalized } =
      this.policy.normalize === undefined
        ? (await this.#verify(attempt.password, hash, attempt))
          ? MATCHED
          : MISMATCHED
        : await this.#checkNormalized(attempt, hash, this.policy.normalize);
    // A dummy or malformed hash never grants, whatever the verifier said.
    if (account === null || cause !== undefined || !matches) {
      this.rejected(cause ?? 'wrong_password', attempt, provider, degraded);
      return { ok: false, reason: 'invalid_credentials' };
    }
    if (account.active !== true) {
      this.rejected('account_disabled', attempt, provider, degraded);
      return { ok: false, reason: 'account_disabled' };
    }
    const lockedFor = lockedForMs(account.lockedUntil, this.clock.now());
    if (lockedFor > 0) {
      this.rejected('account_locked', attempt, provider, degraded);
      return { ok: false, reason: 'account_locked', retryAfterMs: lockedFor };
    }
    const rehash =
      this.policy.rehash && (unnormalized || this.verifier.needsRehash?.(hash) === true)
        ? await this.#rehash(attempt, account.user, provider)
        : undefined;
    this.events.emit('onAttempt', () => ({
      outcome: 'authenticated',
      identifier: attempt.identifier,
      provider,
      degraded,
      durationMs: performance.now() - attempt.started,
      call: attempt.call,
      context: attempt.context,
    }));
    return {
      ok: true,
      user: account.user,
      provider,
      degraded,
      mustChangePassword: account.mustChangePassword === true,
      ...(rehash !== undefined && { rehash }),
    };
  }

  /**
   * Verifies the password in the configured normalization form. A password
   * typed in another form than the one its hash was made from is tried as
   * typed too, whatever the hash (the dummy included, so a miss costs the
   * same): a match that way is a hash to upgrade.
   */
  async #checkNormalized(attempt: Attempt, hash: string, form: 'NFKC'): Promise<Match> {
    const typed = attempt.password;
    const normalized = typed.normalize(form);
    if (await this.#verify(normalized, hash, attempt)) return MATCHED;
    if (normalized === typed) return MISMATCHED;
    try {
      return (await this.#verify(typed, hash, attempt)) ? MATCHED_UNNORMALIZED : MISMATCHED;
    } catch (error) {
      // The normalized form was checked and refused: that guess was answered, so
      // the throttle counts it even though the second form could not be checked.
      if (error instanceof Error) CHECKED_AND_REFUSED.add(error);
      throw error;
    }
  }

  /** One verification, waiting for a thread at most what the policy allows. */
  async #verify(password: string, hash: string, attempt: Attempt): Promise<boolean> {
    try {
      return (
        (await this.verifier.verify(password, hash, verifyWait(this.policy, attempt))) === true
      );
    } catch (error) {
      throw this.#verifierFailed(error, attempt);
    }
  }

  /**
   * A new hash at the verifier's target, for the app to store; a failure here
   * never fails the login. It never waits for a thread: under load it is
   * skipped, and the user's next login tries again.
   */
  async #rehash(attempt: Attempt, user: U, provider: string): Promise<string | undefined> {
    if (this.verifier.hash === undefined) return undefined;
    let hash: string;
    try {
      // Only on a thread free right now: a login's check always goes first.
      hash = await this.verifier.hash(inForm(attempt.password, this.policy.normalize), REHASH_WAIT);
    } catch (error) {
      // Busy: the next login of this user tries again; nothing to report.
      if (error instanceof ResilientAuthError && error.code === 'OVERLOADED') return undefined;
      this.logger.warn('rehashing a password failed; login unaffected, the old hash stays', {
        provider,
        error: safeMessage(error),
      });
      return undefined;
    }
    this.events.emit('onRehash', () => ({
      user,
      provider,
      hash,
      call: attempt.call,
      context: attempt.context,
    }));
    return hash;
  }

  /**
   * A miss costs what most real hashes cost: the dummy is the one that stood
   * for the most hashes found lately, so one request (a failed login against
   * an account of another format or cost, in a migration) cannot choose it.
   * Counts halve past {@link DUMMY_VOTES_HALVED_AT}, so a finished migration
   * moves it.
   */
  #vote(dummy: string): void {
    const votes = (this.#dummyVotes.get(dummy) ?? 0) + 1;
    this.#dummyVotes.set(dummy, votes);
    if (votes > (this.#dummyVotes.get(this.#dummyHash) ?? 0)) this.#dummyHash = dummy;
    if (votes < DUMMY_VOTES_HALVED_AT) return;
    for (const [key, count] of this.#dummyVotes) {
      if (count < 2) this.#dummyVotes.delete(key);
      else this.#dummyVotes.set(key, count >> 1);
    }
  }

  /** Reports an attempt the throttle refused, and which limit, to `onAttempt`. */
  throttled(attempt: Attempt, limit: ThrottleLimitName): void {
    this.events.emit('onAttempt', () => ({
      outcome: 'rejected',
      cause: 'rate_limited',
      limit,
      identifier: attempt.identifier,
      degraded: false,
      durationMs: performance.now() - attempt.started,
      call: attempt.call,
      context: attempt.context,
    }));
  }

  /** Reports a rejection, with its precise cause, to `onAttempt`. */
  rejected(
    cause: RejectionCause,
    attempt: Pick<Attempt, 'call' | 'context' | 'started'> & { readonly identifier?: string },
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
      call: attempt.call,
      context: attempt.context,
    }));
  }

  /**
   * The lookup answered but the password could not be checked: that is "cannot
   * decide" too. `OVERLOADED` (shed: no thread free in time) stays itself, so
   * adapters can answer 503 with Retry-After; anything else is `VERIFIER_FAILED`.
   */
  #verifierFailed(error: unknown, attempt: Attempt): AuthUnavailableError {
    const failed =
      error instanceof ResilientAuthError &&
      (error.code === 'VERIFIER_FAILED' || error.code === 'OVERLOADED')
        ? error
        : new ResilientAuthError(
            'VERIFIER_FAILED',
            `password verification failed: ${safeMessage(error)}`,
            { cause: error },
          );
    const failure = failureOf(VERIFIER_FAILURE_PROVIDER, failed, {
      attempts: 1,
      durationMs: performance.now() - attempt.started,
    });
    this.events.emit('onUnavailable', () => ({
      identifier: attempt.identifier,
      failures: summaries([failure]),
      durationMs: failure.durationMs,
      call: attempt.call,
      context: attempt.context,
    }));
    // No cause: the raw error (which may quote the hash) stays in the failure, non-enumerable.
    return new AuthUnavailableError(failure.message, [failure]);
  }
}
