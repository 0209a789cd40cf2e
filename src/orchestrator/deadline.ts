import { performance } from 'node:perf_hooks';

/**
 * The overall deadline of one `authenticate()` call: a signal that aborts when
 * it passes, and the time left (monotonic clock).
 */
export class Deadline {
  readonly #controller = new AbortController();
  readonly #endsAt: number;
  readonly #timer: ReturnType<typeof setTimeout>;

  constructor(readonly ms: number) {
    this.#endsAt = performance.now() + ms;
    this.#timer = setTimeout(() => this.#controller.abort(), ms);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  remainingMs(): number {
    return this.#endsAt - performance.now();
  }

  dispose(): void {
    clearTimeout(this.#timer);
  }
}
