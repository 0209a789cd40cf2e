/**
 * The overall deadline of one `authenticate()` call, on the monotonic clock.
 * It owns no timer: each attempt's timeout is capped at the time left, so no
 * attempt outlives the deadline and a call that ends early leaves nothing behind.
 */
export class Deadline {
  readonly #endsAt: number;

  constructor(readonly ms: number) {
    this.#endsAt = performance.now() + ms;
  }

  remainingMs(): number {
    return this.#endsAt - performance.now();
  }

  get expired(): boolean {
    return this.remainingMs() <= 0;
  }
}
