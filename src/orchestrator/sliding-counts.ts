// The window is cut in this many buckets that expire one at a time, as
// cockatiel's SamplingBreaker does: memory stays fixed at any request rate.
const BUCKETS = 10;

/**
 * Counters over a sliding time window, in ten buckets of a tenth of the
 * window each, on whatever clock the caller reads (the injected one): memory
 * stays fixed at any rate, and a count leaves the window at most a tenth of
 * it late. The slow-call breaker and a rollout's rollback both judge shares
 * of what they count here.
 */
export class SlidingCounts<K extends string> {
  readonly #bucketMs: number;
  readonly #starts = new Array<number>(BUCKETS).fill(Number.NEGATIVE_INFINITY);
  readonly #counts: Record<K, number[]>;
  #current = 0;

  constructor(
    private readonly fields: readonly K[],
    windowMs: number,
  ) {
    this.#bucketMs = Math.max(1, windowMs / BUCKETS);
    this.#counts = Object.fromEntries(
      fields.map((field) => [field, new Array<number>(BUCKETS).fill(0)]),
    ) as Record<K, number[]>;
  }

  /** Adds one to each of `counted`, at `nowMs`. */
  add(nowMs: number, counted: readonly K[]): void {
    if (nowMs - this.#starts[this.#current]! >= this.#bucketMs) {
      this.#current = (this.#current + 1) % BUCKETS;
      this.#starts[this.#current] = nowMs;
      for (const field of this.fields) this.#counts[field][this.#current] = 0;
    }
    for (const field of counted) this.#counts[field][this.#current]!++;
  }

  /** The counts of the buckets still inside the window at `nowMs`. */
  totals(nowMs: number): Record<K, number> {
    const oldest = nowMs - this.#bucketMs * BUCKETS;
    const totals = {} as Record<K, number>;
    for (const field of this.fields) {
      let sum = 0;
      for (let i = 0; i < BUCKETS; i++) {
        if (this.#starts[i]! > oldest) sum += this.#counts[field][i]!;
      }
      totals[field] = sum;
    }
    return totals;
  }

  clear(): void {
    this.#starts.fill(Number.NEGATIVE_INFINITY);
    for (const field of this.fields) this.#counts[field].fill(0);
  }
}
