import { safeMessage } from '../errors/classify.js';
import {
  AUTH_HOOK_NAMES,
  type AuthHookEvent,
  type AuthHookName,
  type AuthHooks,
} from './events.js';
import type { Logger } from './logger.js';

/**
 * Where the core sends its events. The event is built lazily (`build` runs
 * only when a hook listens), so an event nobody listens to costs nothing.
 */
export interface EventSink {
  emit<K extends AuthHookName>(name: K, build: () => AuthHookEvent<K>): void;
}

interface Listener {
  readonly set: AuthHooks;
  readonly index: number;
  readonly hook: (event: never) => unknown;
}

/**
 * Calls every installed hook for an event, isolated: a hook that throws or
 * rejects is logged and forgotten; nothing is awaited. Hooks are resolved once,
 * own or inherited, so a class instance works as a hook set.
 */
export class HookDispatcher implements EventSink {
  readonly #listeners = new Map<AuthHookName, readonly Listener[]>();
  readonly #logger: Logger;

  constructor(sets: readonly AuthHooks[], logger: Logger) {
    this.#logger = logger;
    for (const name of AUTH_HOOK_NAMES) {
      const listeners = sets.flatMap((set, index) => {
        const hook: unknown = set[name];
        return typeof hook === 'function' ? [{ set, index, hook: hook as Listener['hook'] }] : [];
      });
      if (listeners.length > 0) this.#listeners.set(name, listeners);
    }
  }

  emit<K extends AuthHookName>(name: K, build: () => AuthHookEvent<K>): void {
    const listeners = this.#listeners.get(name);
    if (listeners === undefined) return;
    const event = build();
    for (const { set, index, hook } of listeners) {
      try {
        const returned = (hook as (e: AuthHookEvent<K>) => unknown).call(set, event);
        if (returned instanceof Promise) {
          returned.catch((error: unknown) => this.#report(name, index, error));
        }
      } catch (error) {
        this.#report(name, index, error);
      }
    }
  }

  #report(name: AuthHookName, index: number, error: unknown): void {
    try {
      this.#logger.error(`hook ${name} (hook set #${index}) failed; login unaffected`, {
        hook: name,
        hookSet: index,
        error: safeMessage(error),
      });
    } catch {
      // A logger that throws must not take login down either.
    }
  }
}
