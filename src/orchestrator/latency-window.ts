/** Latencies kept per provider for its p95: the most recent lookups. */
export const LATENCY_WINDOW_SIZE = 200;

/** Below this many recorded lookups a provider has no p95 yet: `hedgeAfterMs: 'p95'` does not hedge. */
export const MIN_LATENCY_SAMPLES = 20;

// The sorted copy is rebuilt after this many new samples, not on every read:
// a p95 that lags by a few lookups is as good as an exact one for a hedge delay.
const RESORT_EVERY = 10;

/**
 * The most recent lookup latencies of one provider in a fixed ring, and their
 * 95th percentile (nearest rank). Memory and the cost of a read stay bounded
 * at any request rate.
 */
export class LatencyWindow {
  readonly #samples = new Float64Array(LATENCY_WINDOW_SIZE);
  #count = 0;
  #next = 0;
  #sorted: Float64Array | undefined;
  #sinceSort = 0;

  record(ms: number): void {
    this.#samples[this.#next] = Math.max(0, ms);
    this.#next = (this.#next + 1) % LATENCY_WINDOW_SIZE;
    if (this.#count < LATENCY_WINDOW_SIZE) this.#count++;
    this.#sinceSort++;
  }

  /** The 95th percentile of the samples held, or `undefined` below {@link MIN_LATENCY_SAMPLES}. */
  p95(): number | undefined {
    if (this.#count < MIN_LATENCY_SAMPLES) return undefined;
    if (this.#sorted === undefined || this.#sinceSort >= RESORT_EVERY) {
      this.#sorted = this.#samples.slice(0, this.#count).sort();
      this.#sinceSort = 0;
    }
    return this.#sorted[Math.ceil(0.95 * this.#sorted.length) - 1];
  }
}
