import type { ProviderCallContext, ProviderNotice } from '../providers/provider.js';

/**
 * Runs `call` for at most `ms`: an aggressive timeout, which settles with
 * `onTimeout()`'s error when the time is up, aborts the call's signal, and
 * leaves the abandoned call to finish on its own (its outcome is ignored).
 * When `cancel` aborts first (a hedged lookup lost the race), the same
 * happens with `cancel.reason`.
 *
 * The context's `signal` is an own accessor that builds the AbortController
 * on first read, so it survives `{ ...ctx }`. Node 20 spends about 3 µs on an
 * AbortController, and cockatiel's TimeoutPolicy, which builds one and its
 * listeners on every call, about 10 µs (both side by side in `npm run bench`):
 * more than the whole overhead budget of a login, paid even by providers that
 * never read the signal. cockatiel's timeout also has one fixed duration, where
 * an attempt's limit is capped by the time left before the call's deadline.
 */
export function withTimeout<T>(
  ms: number,
  notify: (notice: ProviderNotice) => void,
  call: (ctx: ProviderCallContext) => T | Promise<T>,
  onTimeout: () => Error,
  cancel?: AbortSignal,
): Promise<T> {
  let controller: AbortController | undefined;
  // Why the call was given up (its timeout, or `cancel`), for a signal built late.
  let givenUp: unknown;
  const ctx: ProviderCallContext = {
    get signal() {
      if (controller === undefined) {
        controller = new AbortController();
        if (givenUp !== undefined) controller.abort(givenUp);
      }
      return controller.signal;
    },
    notify,
  };
  return new Promise<T>((resolve, reject) => {
    const giveUp = (reason: unknown): void => {
      clearTimeout(timer);
      cancel?.removeEventListener('abort', onCancel);
      givenUp = reason;
      controller?.abort(reason);
      reject(reason);
    };
    const onCancel = (): void => giveUp(cancel?.reason);
    const timer = setTimeout(() => giveUp(onTimeout()), ms);
    if (cancel?.aborted) {
      onCancel();
      return;
    }
    cancel?.addEventListener('abort', onCancel, { once: true });
    let running: Promise<T>;
    try {
      running = Promise.resolve(call(ctx));
    } catch (error) {
      running = Promise.reject(error);
    }
    const settle = (): void => {
      clearTimeout(timer);
      cancel?.removeEventListener('abort', onCancel);
    };
    running.then(
      (value) => {
        settle();
        resolve(value);
      },
      (error: unknown) => {
        settle();
        reject(error);
      },
    );
  });
}
