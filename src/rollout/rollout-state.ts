import { safeMessage } from '../errors/classify.js';
import type { EventSink } from '../hooks/dispatch.js';
import type { RequestContext, RollbackReason } from '../hooks/events.js';
import type { Logger } from '../hooks/logger.js';
import type { Clock } from '../orchestrator/clock.js';
import { SlidingCounts } from '../orchestrator/sliding-counts.js';
import { rolloutBucket } from './bucket.js';
import type { Rollout } from './rollout.js';

/** Which way one login goes: the control alone, the candidate first, or the control with the candidate in shadow. */
export type RolloutRoute = 'control' | 'candidate' | 'shadow';

// p95 above the bound means more than this share of calls took longer.
const SLOWER_THAN_P95 = 0.05;

const WHAT: Record<RollbackReason, string> = {
  failure_rate: 'candidate failure rate',
  latency: 'share of candidate calls slower than the p95 bound',
  mismatch_rate: 'shadow mismatch rate',
};

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/** What a rollout counts about its candidate over the window. */
export interface RolloutCounts {
  /** Candidate calls that ended (answered, or could not answer). */
  readonly calls: number;
  /** Candidate calls that could not answer. */
  readonly failures: number;
  /** Candidate calls slower than `maxP95Ms`. */
  readonly slowCalls: number;
  /** Shadow comparisons made. */
  readonly compared: number;
  /** Shadow comparisons that disagreed. */
  readonly mismatches: number;
}

type Counted = keyof RolloutCounts;

const COUNTED: readonly Counted[] = ['calls', 'failures', 'slowCalls', 'compared', 'mismatches'];

/** A rollout as `health()` shows it. */
export interface RolloutHealth {
  /** The rollout's name, as `rollout()` was given it. */
  readonly name: string;
  /** The share of users in the candidate's bucket (or compared in shadow), 0 to 100. */
  readonly percent: number;
  /** True in shadow mode: the control decides every login. */
  readonly shadow: boolean;
  /** `rolled_back`: every login takes the control until `auth.resumeRollout(name)`. */
  readonly state: 'active' | 'rolled_back';
  /** The candidate chain's providers, in order (they are in `providers` too). */
  readonly candidate: readonly string[];
  /** While rolled back: why and when. */
  readonly rolledBack?: {
    readonly reason: RollbackReason;
    readonly at: Date;
    readonly observed: number;
    readonly threshold: number;
  };
  /** The candidate's counts over the rollback window. */
  readonly window: RolloutCounts & { readonly windowMs: number };
}

interface RolledBack {
  readonly reason: RollbackReason;
  readonly atMs: number;
  readonly observed: number;
  readonly threshold: number;
}

/**
 * A rollout at run time: routes each login by its sticky bucket, counts what
 * the candidate did over the window, and rolls back by itself when a rate
 * passes its threshold; only {@link resume} undoes that.
 */
export class RolloutState<U = unknown> {
  readonly #window: SlidingCounts<Counted>;
  #rolledBack: RolledBack | undefined;
  /** Set while `key()` keeps throwing: said once, not on every login. */
  #keyFailing = false;

  constructor(
    readonly rollout: Rollout<U>,
    private readonly clock: Clock,
    private readonly events: EventSink,
    private readonly logger: Logger,
  ) {
    this.#window = new SlidingCounts(COUNTED, rollout.rollback.windowMs);
  }

  get name(): string {
    return this.rollout.name;
  }

  /** The way this login goes. A `key` that throws sends it to the control (logged once until it works again). */
  route(identifier: string, context: RequestContext): RolloutRoute {
    const { name, percent, shadow, key } = this.rollout;
    if (this.#rolledBack !== undefined || percent === 0) return 'control';
    let bucketKey: string;
    try {
      bucketKey = key(identifier, context);
      if (typeof bucketKey !== 'string') throw new TypeError(`key() returned ${typeof bucketKey}`);
    } catch (error) {
      if (!this.#keyFailing) {
        this.#keyFailing = true;
        this.logger.warn(
          `rollout "${name}": key() failed; its logins take the control until it works again`,
          { rollout: name, error: safeMessage(error) },
        );
      }
      return 'control';
    }
    this.#keyFailing = false;
    if (rolloutBucket(name, bucketKey) > percent) return 'control';
    return shadow ? 'shadow' : 'candidate';
  }

  /** One candidate call ended: it answered or not, after `durationMs` of lookups. */
  called(answered: boolean, durationMs: number): void {
    this.#window.add(this.clock.now(), [
      'calls',
      ...(answered ? [] : (['failures'] as const)),
      ...(durationMs > this.rollout.rollback.maxP95Ms ? (['slowCalls'] as const) : []),
    ]);
    this.#judge();
  }

  /** One shadow comparison was made. */
  compared(mismatch: boolean): void {
    this.#window.add(this.clock.now(), mismatch ? ['compared', 'mismatches'] : ['compared']);
    this.#judge();
  }

  /** Lets the candidate back in after a rollback, with an empty window. No-op while active. */
  resume(): void {
    if (this.#rolledBack === undefined) return;
    this.#rolledBack = undefined;
    this.#window.clear();
    this.events.emit('onRolloutResumed', () => ({ rollout: this.name }));
  }

  health(): RolloutHealth {
    const { name, percent, shadow, candidate, rollback } = this.rollout;
    const rolledBack = this.#rolledBack;
    return {
      name,
      percent,
      shadow,
      state: rolledBack ? 'rolled_back' : 'active',
      candidate: candidate.map((entry) => ('provider' in entry ? entry.provider : entry).name),
      ...(rolledBack && {
        rolledBack: {
          reason: rolledBack.reason,
          at: new Date(rolledBack.atMs),
          observed: rolledBack.observed,
          threshold: rolledBack.threshold,
        },
      }),
      window: { ...this.#window.totals(this.clock.now()), windowMs: rollback.windowMs },
    };
  }

  /** Rolls back when a share over the window passes its threshold (strictly). */
  #judge(): void {
    if (this.#rolledBack !== undefined) return;
    const { failureRate, mismatchRate, minimumCalls } = this.rollout.rollback;
    const counts = this.#window.totals(this.clock.now());
    if (counts.calls >= minimumCalls) {
      this.#passes('failure_rate', counts.failures / counts.calls, failureRate, counts.calls);
      this.#passes('latency', counts.slowCalls / counts.calls, SLOWER_THAN_P95, counts.calls);
    }
    if (counts.compared >= minimumCalls) {
      this.#passes(
        'mismatch_rate',
        counts.mismatches / counts.compared,
        mismatchRate,
        counts.compared,
      );
    }
  }

  #passes(reason: RollbackReason, observed: number, threshold: number, calls: number): void {
    if (this.#rolledBack !== undefined || observed <= threshold) return;
    this.#rolledBack = { reason, atMs: this.clock.now(), observed, threshold };
    const { windowMs } = this.rollout.rollback;
    this.logger.error(
      `rollout "${this.name}" rolled back: ${WHAT[reason]} ${percent(observed)} > ${percent(threshold)} over the last ${windowMs} ms (${calls} ${reason === 'mismatch_rate' ? 'comparisons' : 'calls'}); every login takes the control until auth.resumeRollout("${this.name}")`,
      { rollout: this.name, reason, observed, threshold, calls, windowMs },
    );
    this.events.emit('onRollback', () => ({
      rollout: this.name,
      reason,
      observed,
      threshold,
      calls,
      windowMs,
    }));
  }
}
