import { failureHint } from '../errors/classify.js';
import { ConfigError, type Failure } from '../errors/errors.js';
import type { Account } from '../providers/provider.js';
import type { CallScope } from './call-scope.js';
import { Deadline } from './deadline.js';
import type { AuthMode } from './options.js';
import type { ProviderSlot } from './provider-slot.js';

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
 */
export class ProviderChain<U> {
  readonly #byName: ReadonlyMap<string, ProviderSlot<U>>;

  constructor(
    readonly slots: readonly ProviderSlot<U>[],
    readonly mode: AuthMode,
    readonly deadlineMs: number,
  ) {
    this.#byName = new Map(slots.map((slot) => [slot.name, slot]));
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

  async ask(identifier: string, scope: CallScope): Promise<Answer<U> | NoAnswer> {
    const deadline = new Deadline(this.deadlineMs);
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
        failures.push(lookup.failure);
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
