import type { ProviderCallContext, ProviderNotice } from '../providers/provider.js';

/**
 * An attempt's context whose `signal` is made only when the provider reads
 * it. Node 20 spends about 3 µs building an AbortController, more than the
 * rest of a login's bookkeeping, and many providers never read the signal.
 */
class LazySignalContext implements ProviderCallContext {
  #controller: AbortController | undefined;
  #reason: unknown;
  #aborted = false;

  constructor(readonly notify: (notice: ProviderNotice) => void) {}

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

/**
 * Runs `call` for at most `ms`: an aggressive timeout, which settles with
 * `onTimeout()`'s error when the time is up, aborts the call's signal, and
 * leaves the abandoned call to finish on its own (its outcome is ignored).
 *
 * cockatiel's TimeoutPolicy does the same but builds an AbortController and
 * its listeners on every call (about 10 µs here, measured by `npm run bench`),
 * which alone would break the overhead budget of a login.
 */
export function withTimeout<T>(
  ms: number,
  notify: (notice: ProviderNotice) => void,
  call: (ctx: ProviderCallContext) => Promise<T>,
  onTimeout: () => Error,
): Promise<T> {
  const ctx = new LazySignalContext(notify);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const error = onTimeout();
      ctx.abort(error);
      reject(error);
    }, ms);
    const settle = (done: () => void) => {
      clearTimeout(timer);
      done();
    };
    let running: Promise<T>;
    try {
      running = call(ctx);
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      (value) => settle(() => resolve(value)),
      (error: unknown) => settle(() => reject(error)),
    );
  });
}
