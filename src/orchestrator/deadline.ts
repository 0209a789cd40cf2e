/**
 * The overall deadline of one `authenticate()` call, on the monotonic clock.
 * It owns a timer only when an attempt's own timeout would outlive it: then
 * {@link signalBefore} gives a signal that aborts at the deadline. The caller
 * disposes of it when the call ends, so a call leaves nothing behind.
 */
export class Deadline {
  readonly #endsAt: number;
  #controller: AbortController | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly ms: number) {
    this.#endsAt = performance.now() + ms;
  }

  remainingMs(): number {
    return this.#endsAt - performance.now();
  }

  get expired(): boolean {
    return this.remainingMs() <= 0;
  }

  /** True once the signal given by {@link signalBefore} has aborted. */
  get passed(): boolean {
    return this.#controller?.signal.aborted === true;
  }

  /**
   * A signal that aborts at the deadline, or `undefined` when an attempt
   * limited to `timeoutMs` ends before the deadline anyway.
   */
  signalBefore(timeoutMs: number): AbortSignal | undefined {
    const remainingMs = this.remainingMs();
    if (remainingMs >= timeoutMs) return undefined;
    if (this.#controller === undefined) {
      const controller = new AbortController();
      this.#controller = controller;
      this.#timer = setTimeout(() => controller.abort(), Math.max(0, remainingMs));
    }
    return this.#controller.signal;
  }

  /** Clears the timer, if any. */
  dispose(): void {
    clearTimeout(this.#timer);
  }
}
