import { safeMessage } from '../errors/classify.js';
import type { EventSink } from '../hooks/dispatch.js';
import type { ShadowOutcome, ShadowSide } from '../hooks/events.js';
import type { Logger } from '../hooks/logger.js';
import { lockedForMs } from '../orchestrator/account-lock.js';
import type { Clock } from '../orchestrator/clock.js';
import { type Attempt, inForm } from '../orchestrator/credential-decision.js';
import { Deadline } from '../orchestrator/deadline.js';
import type { Answer, NoAnswer, ProviderChain } from '../orchestrator/provider-chain.js';
import type { AuthResult } from '../orchestrator/result.js';
import type { PasswordVerifier, VerifyOptions } from '../password/verifier.js';
import type { Account } from '../providers/provider.js';
import type { RolloutState } from './rollout-state.js';

/** What the control decided for one login, as the comparison needs it. */
export interface ControlDecision<U> {
  readonly account: Account<U> | null;
  readonly provider: string;
  readonly result: AuthResult<U>;
}

/** Shadow checks run only on a thread free right now: a real login's check always goes first. */
const FREE_THREAD_ONLY: VerifyOptions = Object.freeze({ maxWaitMs: 0 });

const DECIDED: ReadonlySet<string> = new Set<ShadowOutcome>([
  'authenticated',
  'invalid_credentials',
  'account_disabled',
  'account_locked',
]);

/**
 * Runs the candidate chain beside the control for the logins in shadow, then
 * compares what each would have answered: the outcome kind and the user id,
 * never the hash. The candidate writes nothing: no `onAttempt` (so no audit
 * row), no rehash, no throttle count, no serving-state change; only its
 * lookups are real (and reported as such, since they are real load).
 */
export class ShadowComparison<U> {
  readonly #pending = new Set<Promise<unknown>>();

  constructor(
    private readonly candidate: ProviderChain<U>,
    private readonly state: RolloutState<U>,
    private readonly verifier: PasswordVerifier,
    private readonly normalize: 'NFKC' | undefined,
    private readonly clock: Clock,
    private readonly events: EventSink,
    private readonly logger: Logger,
  ) {}

  /**
   * Starts the candidate's lookups now, under the rollout's own
   * `shadowTimeoutMs`, and counts how they went. Never rejects.
   */
  start(identifier: string, attempt: Attempt): ShadowRun<U> {
    const started = performance.now();
    const scope = { call: attempt.call, context: attempt.context, shadow: this.state.name };
    const lookup = this.candidate
      .ask(identifier, scope, new Deadline(this.state.rollout.shadowTimeoutMs))
      .then(
        (answer) => {
          this.state.called(answer.answered, performance.now() - started);
          return answer;
        },
        (error: unknown) => {
          this.#failed(error);
          return undefined;
        },
      );
    this.#track(lookup);
    return {
      compare: (control) => {
        this.#track(this.#compare(lookup, control, attempt).catch((error) => this.#failed(error)));
      },
    };
  }

  /** Waits for the comparisons in flight (at `close()`). */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  #track(work: Promise<unknown>): void {
    this.#pending.add(work);
    void work.finally(() => this.#pending.delete(work));
  }

  async #compare(
    lookup: Promise<Answer<U> | NoAnswer | undefined>,
    control: ControlDecision<U>,
    attempt: Attempt,
  ): Promise<void> {
    const answer = await lookup;
    const controlOutcome = control.result.ok ? 'authenticated' : control.result.reason;
    if (!answer?.answered || !DECIDED.has(controlOutcome)) return;
    const outcome = await this.#candidateOutcome(answer.account, control, attempt.password);
    if (outcome === undefined) return;
    const controlSide = this.#side(
      controlOutcome as ShadowOutcome,
      control.provider,
      control.account,
    );
    const candidateSide = this.#side(outcome, answer.provider, answer.account);
    const mismatch =
      controlSide.outcome !== candidateSide.outcome ||
      (controlSide.userId !== undefined &&
        candidateSide.userId !== undefined &&
        controlSide.userId !== candidateSide.userId);
    this.state.compared(mismatch);
    if (!mismatch) return;
    this.events.emit('onShadowMismatch', () => ({
      rollout: this.state.name,
      identifier: attempt.identifier,
      control: controlSide,
      candidate: candidateSide,
      call: attempt.call,
      context: attempt.context,
    }));
  }

  /**
   * What the candidate would have answered, in the order the decision takes:
   * password first, account state after. A hash equal to the control's reuses
   * the control's check; otherwise one check on a free thread, or `undefined`
   * (no comparison) when none is free.
   */
  async #candidateOutcome(
    account: Account<U> | null,
    control: ControlDecision<U>,
    password: string,
  ): Promise<ShadowOutcome | undefined> {
    if (account === null) return 'invalid_credentials';
    const hash = account.passwordHash;
    if (typeof hash !== 'string' || !this.verifier.isWellFormed(hash)) return 'invalid_credentials';
    const matches =
      hash === control.account?.passwordHash
        ? control.result.ok || control.result.reason !== 'invalid_credentials'
        : await this.#matches(password, hash);
    if (matches === undefined) return undefined;
    if (!matches) return 'invalid_credentials';
    if (account.active !== true) return 'account_disabled';
    if (lockedForMs(account.lockedUntil, this.clock.now()) > 0) return 'account_locked';
    return 'authenticated';
  }

  async #matches(password: string, hash: string): Promise<boolean | undefined> {
    try {
      const normalized = inForm(password, this.normalize);
      if (await this.verifier.verify(normalized, hash, FREE_THREAD_ONLY)) return true;
      return (
        normalized !== password && (await this.verifier.verify(password, hash, FREE_THREAD_ONLY))
      );
    } catch {
      // No thread free (or the check failed): this login is not compared.
      return undefined;
    }
  }

  #side(outcome: ShadowOutcome, provider: string, account: Account<U> | null): ShadowSide {
    const id = account === null ? undefined : this.state.rollout.userId(account.user);
    return {
      outcome,
      provider,
      ...((typeof id === 'string' || typeof id === 'number' || typeof id === 'bigint') && {
        userId: String(id),
      }),
    };
  }

  #failed(error: unknown): void {
    this.logger.warn(`rollout "${this.state.name}": shadow comparison failed; login unaffected`, {
      rollout: this.state.name,
      error: safeMessage(error),
    });
  }
}

/** The candidate's side of one login in shadow. */
export interface ShadowRun<U> {
  /** Compares once the control decided; in the background, never awaited by the login. */
  compare(control: ControlDecision<U>): void;
}
