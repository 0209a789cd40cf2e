import type { Clock } from '../orchestrator/clock.js';

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

type Field = keyof RolloutCounts;

const SLICES = 10;
const FIELDS: readonly Field[] = ['calls', 'failures', 'slowCalls', 'compared', 'mismatches'];

/**
 * Counts over a sliding window, in ten slices of a tenth of the window each,
 * on the injected clock: memory stays constant whatever the traffic, and a
 * count leaves the window at most a tenth of it late.
 */
export class RolloutWindow {
  readonly #sliceMs: number;
  readonly #slices: { start: number; counts: Record<Field, number> }[] = [];

  constructor(
    windowMs: number,
    private readonly clock: Clock,
  ) {
    this.#sliceMs = Math.max(1, Math.ceil(windowMs / SLICES));
  }

  /** Adds one to each of `fields`, now. */
  add(...fields: readonly Field[]): void {
    const now = this.clock.now();
    const start = now - (now % this.#sliceMs);
    let slice = this.#slices.at(-1);
    if (slice?.start !== start) {
      slice = {
        start,
        counts: { calls: 0, failures: 0, slowCalls: 0, compared: 0, mismatches: 0 },
      };
      this.#slices.push(slice);
      if (this.#slices.length > SLICES) this.#slices.shift();
    }
    for (const field of fields) slice.counts[field]++;
  }

  /** The counts of the slices still inside the window. */
  totals(): RolloutCounts {
    const oldest = this.clock.now() - this.#sliceMs * SLICES;
    const totals: Record<Field, number> = {
      calls: 0,
      failures: 0,
      slowCalls: 0,
      compared: 0,
      mismatches: 0,
    };
    for (const { start, counts } of this.#slices) {
      if (start <= oldest) continue;
      for (const field of FIELDS) totals[field] += counts[field];
    }
    return totals;
  }

  clear(): void {
    this.#slices.length = 0;
  }
}
