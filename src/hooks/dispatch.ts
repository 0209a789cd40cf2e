import { safeMessage } from '../errors/classify.js';
import type { AuthHookName, AuthHooks } from './events.js';
import type { Logger } from './logger.js';

type EventOf<K extends AuthHookName> = Parameters<NonNullable<AuthHooks[K]>>[0];

/**
 * Calls every installed hook for an event, isolated: a hook that throws or
 * rejects is logged and forgotten; nothing is awaited. `has(name)` lets callers
 * skip building an event nobody listens to.
 */
export class HookDispatcher {
  readonly #sets: readonly AuthHooks[];
  readonly #logger: Logger;
  readonly #listening: ReadonlySet<AuthHookName>;

  constructor(sets: readonly AuthHooks[], logger: Logger) {
    this.#sets = sets;
    this.#logger = logger;
    const listening = new Set<AuthHookName>();
    for (const set of sets) {
      for (const key of Object.keys(set) as AuthHookName[]) {
        if (typeof set[key] === 'function') listening.add(key);
      }
    }
    this.#listening = listening;
  }

  /** True when at least one hook set listens to `name`. */
  has(name: AuthHookName): boolean {
    return this.#listening.has(name);
  }

  emit<K extends AuthHookName>(name: K, event: EventOf<K>): void {
    if (!this.#listening.has(name)) return;
    for (let i = 0; i < this.#sets.length; i++) {
      const hook = this.#sets[i]?.[name] as ((e: EventOf<K>) => unknown) | undefined;
      if (typeof hook !== 'function') continue;
      try {
        const returned = hook.call(this.#sets[i], event);
        if (returned instanceof Promise) {
          returned.catch((error: unknown) => this.#report(name, i, error));
        }
      } catch (error) {
        this.#report(name, i, error);
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
