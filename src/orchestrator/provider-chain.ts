import { failureHint } from '../errors/classify.js';
import { ConfigError, type Failure } from '../errors/errors.js';
import type { Account } from '../providers/provider.js';
import type { CallScope } from './call-scope.js';
import { Deadline } from './deadline.js';
import { hedgedLookup } from './hedged-lookup.js';
import type { AuthMode } from './options.js';
import type { Lookup, ProviderSlot } from './provider-slot.js';

/** A provider answered the lookup: the account, or `null` for "no such account". */
export interface Answer<U> {
  readonly answered: true;
  readonly account: Account<U> | null;
  /** The provider that answered. */
  readonly provider: string;
  /** The providers before it that could not answer. */
  readonly failures: readonly Failure[];
}

/** No provider could answer (or, federated, a store that failed might hold the account). */
export interface NoAnswer {
  readonly answered: false;
  readonly failures: readonly Failure[];
  /** One line per failure, with what to check first. */
  readonly message: string;
  /** Until the first provider may be called again (see `AuthUnavailableError.retryAfterMs`). */
  readonly retryAfterMs: number;
}

// What to suggest when every provider is isolated: only an operator can end it.
const ISOLATED_RETRY_AFTER_MS = 60_000;

/**
 * The providers in order and the mode that relates them: asks them within one
 * deadline per call until one can answer (failover) or one finds the
 * account (federated).
 *
 * Failover with a provider's `hedgeAfterMs`: when it has not answered in
 * time, the next provider that may be called is asked too (at most one hedge
 * per call), and the first answer decides. A hedge that answers while the
 * provider before it is merely slow (not failed) brings no failure with it:
 * the answer is not degraded, and no fallback is reported.
 */
export class ProviderChain<U> {
  readonly #byName: ReadonlyMap<string, ProviderSlot<U>>;
  readonly #hedging: boolean;

  constructor(
    readonly slots: readonly ProviderSlot<U>[],
    readonly mode: AuthMode,
    readonly deadlineMs: number,
  ) {
    this.#byName = new Map(slots.map((slot) => [slot.name, slot]));
    this.#hedging =
      mode === 'failover' && slots.some((slot) => slot.policy.hedgeAfterMs !== undefined);
  }

  /** The provider named `name`; a {@link ConfigError} listing the known ones otherwise. */
  slot(name: string): ProviderSlot<U> {
    const slot = this.#byName.get(name);
    if (!slot) {
      throw new ConfigError(
        'name',
        `no provider named "${name}" (have: ${[...this.#byName.keys()].join(', ')})`,
      );
    }
    return slot;
  }

  /**
   * Asks the providers in order within `deadline` (default: a new one of
   * `deadlineMs`; a rollout passes one it shares between two chains).
   */
  async ask(
    identifier: string,
    scope: CallScope,
    deadline = new Deadline(this.deadlineMs),
  ): Promise<Answer<U> | NoAnswer> {
    if (this.#hedging) return this.#askHedged(identifier, scope, deadline);
    const failures: Failure[] = [];
    let notFoundBy: string | undefined;
    for (const slot of this.slots) {
      const skipped = deadline.expired ? 'deadline_exceeded' : slot.skipReason();
      if (skipped) {
        failures.push(slot.skipped(skipped));
        continue;
      }
      const lookup = await slot.lookup(identifier, deadline, scope);
      if (!lookup.ok) {
        if (lookup.failure) failures.push(lookup.failure);
        continue;
      }
      if (lookup.account !== null || this.mode === 'failover') {
        return { answered: true, account: lookup.account, provider: slot.name, failures };
      }
      notFoundBy = slot.name;
    }
    // Federated: "not found" is an answer only if every store could be asked.
    if (notFoundBy !== undefined && failures.length === 0) {
      return { answered: true, account: null, provider: notFoundBy, failures };
    }
    return {
      answered: false,
      failures,
      message: this.#unavailable(failures, notFoundBy),
      retryAfterMs: this.#retryAfterMs(),
    };
  }

  /** Failover with hedging: as {@link ask}, the first provider with a hedge delay may bring in the next. */
  async #askHedged(
    identifier: string,
    scope: CallScope,
    deadline: Deadline,
  ): Promise<Answer<U> | NoAnswer> {
    const failures: Failure[] = [];
    const asked = new Set<ProviderSlot<U>>();
    let hedged = false;
    for (const [index, slot] of this.slots.entries()) {
      if (asked.has(slot)) continue;
      const skipped = deadline.expired ? 'deadline_exceeded' : slot.skipReason();
      if (skipped) {
        failures.push(slot.skipped(skipped));
        continue;
      }
      asked.add(slot);
      let steps: readonly { slot: ProviderSlot<U>; lookup: Lookup<U> }[];
      if (hedged) {
        steps = [{ slot, lookup: await slot.lookup(identifier, deadline, scope) }];
      } else {
        const pickHedge = (): ProviderSlot<U> | undefined => {
          const next = this.slots.find(
            (s, i) => i > index && !asked.has(s) && s.skipReason() === undefined,
          );
          if (next) {
            hedged = true;
            asked.add(next);
          }
          return next;
        };
        ({ steps } = await hedgedLookup(slot, pickHedge, identifier, deadline, scope));
      }
      for (const step of steps) {
        if (step.lookup.ok) {
          // In provider order: a provider skipped for the hedge may have been recorded after it.
          failures.sort((a, b) => this.#order(a.provider) - this.#order(b.provider));
          return {
            answered: true,
            account: step.lookup.account,
            provider: step.slot.name,
            failures,
          };
        }
        // Only the winner comes back from a race someone was cancelled in: never a cancelled step here.
        if (step.lookup.failure) failures.push(step.lookup.failure);
      }
    }
    failures.sort((a, b) => this.#order(a.provider) - this.#order(b.provider));
    return {
      answered: false,
      failures,
      message: this.#unavailable(failures, undefined),
      retryAfterMs: this.#retryAfterMs(),
    };
  }

  #order(provider: string): number {
    const slot = this.#byName.get(provider);
    return slot === undefined ? -1 : this.slots.indexOf(slot);
  }

  #retryAfterMs(): number {
    const soonest = Math.min(...this.slots.map((slot) => slot.retryInMs()));
    return Number.isFinite(soonest) ? soonest : ISOLATED_RETRY_AFTER_MS;
  }

  #unavailable(failures: readonly Failure[], notFoundBy: string | undefined): string {
    const list = failures
      .map((f) => `${f.provider}: ${f.code ?? 'error'} ${f.message} -> ${failureHint(f.kind)}`)
      .join('; ');
    const lead =
      this.mode === 'federated' && notFoundBy !== undefined
        ? 'account not found in the stores that answered, and a store that might hold it failed'
        : 'no provider could answer';
    return `${lead} (${list})`;
  }
}
