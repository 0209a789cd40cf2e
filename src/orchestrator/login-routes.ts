import { ConfigError } from '../errors/errors.js';
import type { RolloutHealth, RolloutRoute, RolloutState } from '../rollout/rollout-state.js';
import type { ShadowComparison, ShadowRun } from '../rollout/shadow-run.js';
import type { Attempt } from './credential-decision.js';
import { Deadline } from './deadline.js';
import type { Answer, NoAnswer, ProviderChain } from './provider-chain.js';
import type { ProviderSlot } from './provider-slot.js';

/** A rollout wired to its candidate chain. */
export interface RoutedRollout<U> {
  readonly state: RolloutState<U>;
  readonly candidate: ProviderChain<U>;
  readonly shadow: ShadowComparison<U>;
}

/**
 * Where a login is looked up: the control chain (the `providers`, or a
 * rollout's `control`), or, for the users a rollout routes there, its
 * candidate chain first. A candidate that cannot answer falls back to the
 * control within the same deadline; its failures count against the rollout,
 * not as a fallback of the service.
 */
export class LoginRoutes<U> {
  /** Every provider, control then candidate, in order. */
  readonly slots: readonly ProviderSlot<U>[];
  readonly #candidates: ReadonlySet<string>;

  constructor(
    readonly control: ProviderChain<U>,
    private readonly rollout: RoutedRollout<U> | undefined,
  ) {
    this.slots = [...control.slots, ...(rollout?.candidate.slots ?? [])];
    this.#candidates = new Set(rollout?.candidate.slots.map((slot) => slot.name));
  }

  /**
   * True when a provider of the candidate chain answered: the service's
   * serving state (the control's) says nothing about it, and the candidate's
   * own failures count against the rollout.
   */
  answeredByCandidate(answer: Answer<U>): boolean {
    return this.#candidates.has(answer.provider);
  }

  /** Which way this login goes: always the control without a rollout (or once it rolled back). */
  route(identifier: string, attempt: Attempt): RolloutRoute {
    return this.rollout?.state.route(identifier, attempt.context) ?? 'control';
  }

  /** Starts the candidate beside the control, for a login routed `shadow`. */
  shadow(identifier: string, attempt: Attempt): ShadowRun<U> | undefined {
    return this.rollout?.shadow.start(identifier, attempt);
  }

  /** Looks the login up on its route: the control chain, or the candidate chain then the control. */
  ask(route: RolloutRoute, identifier: string, attempt: Attempt): Promise<Answer<U> | NoAnswer> {
    return route === 'candidate' && this.rollout
      ? this.#askCandidate(this.rollout, identifier, attempt)
      : this.control.ask(identifier, attempt);
  }

  async #askCandidate(
    rollout: RoutedRollout<U>,
    identifier: string,
    attempt: Attempt,
  ): Promise<Answer<U> | NoAnswer> {
    const deadline = new Deadline(this.control.deadlineMs);
    const started = performance.now();
    const tried = await rollout.candidate.ask(identifier, attempt, deadline);
    rollout.state.called(tried.answered, performance.now() - started);
    if (tried.answered) return tried;
    const answer = await this.control.ask(identifier, attempt, deadline);
    if (answer.answered) return answer;
    // Neither could answer: the error lists every provider tried, candidate first.
    const failures = [...tried.failures, ...answer.failures];
    return {
      ...answer,
      failures,
      message: `candidate ${tried.message}; control ${answer.message}`,
    };
  }

  /** The provider named `name`; a {@link ConfigError} listing the known ones otherwise. */
  slot(name: string): ProviderSlot<U> {
    const found = this.slots.find((slot) => slot.name === name);
    if (found) return found;
    throw new ConfigError(
      'name',
      `no provider named "${name}" (have: ${this.slots.map((slot) => slot.name).join(', ')})`,
    );
  }

  /** Lets a rolled-back rollout's candidate back in; a {@link ConfigError} for an unknown name. */
  resumeRollout(name: string): void {
    if (this.rollout?.state.name !== name) {
      throw new ConfigError(
        'name',
        this.rollout
          ? `no rollout named "${name}" (have: ${this.rollout.state.name})`
          : `no rollout named "${name}": this authenticator has none`,
      );
    }
    this.rollout.state.resume();
  }

  /** Longest a shadow comparison's lookups may run: 0 without a rollout. */
  get shadowTimeoutMs(): number {
    return this.rollout?.state.rollout.shadowTimeoutMs ?? 0;
  }

  health(): RolloutHealth | undefined {
    return this.rollout?.state.health();
  }

  /** Waits for shadow comparisons in flight. */
  async drain(): Promise<void> {
    await this.rollout?.shadow.drain();
  }
}
