import type { Failure } from '../errors/errors.js';
import type { EventSink } from '../hooks/dispatch.js';
import type { FailureSummary } from '../hooks/events.js';
import type { CallScope } from './call-scope.js';
import type { HealthStatus } from './health.js';
import type { AuthMode } from './options.js';

type Serving = 'healthy' | 'degraded' | 'unavailable';

/**
 * Who served the last call: the primary, a fallback, or nobody. Its changes
 * are the edge-triggered `onDegraded` / `onRecovered` events, and it is half
 * of what `health()` reports.
 */
export class ServingState {
  #serving: Serving = 'healthy';

  constructor(
    private readonly primary: string,
    private readonly events: EventSink,
  ) {}

  /** `provider` answered this call; `failures` are the providers before it that could not. */
  served(provider: string, failures: readonly Failure[], { call, context }: CallScope): void {
    if (failures.length === 0) {
      this.#moveTo('healthy', () => this.events.emit('onRecovered', () => ({ provider })));
      return;
    }
    this.events.emit('onFallback', () => ({
      provider,
      failures: summaries(failures),
      call,
      context,
    }));
    this.#moveTo('degraded', () =>
      this.events.emit('onDegraded', () => ({
        primary: this.primary,
        provider,
        failures: summaries(failures),
      })),
    );
  }

  /** No provider could answer this call. */
  unavailable(
    identifier: string,
    failures: readonly Failure[],
    durationMs: number,
    { call, context }: CallScope,
  ): void {
    this.#moveTo('unavailable');
    this.events.emit('onUnavailable', () => ({
      identifier,
      failures: summaries(failures),
      durationMs,
      call,
      context,
    }));
  }

  /**
   * No provider could answer, but the call was answered another way (break-glass
   * access, which reports itself): health says unhealthy, no `onUnavailable`.
   */
  noneAnswered(): void {
    this.#moveTo('unavailable');
  }

  /**
   * `healthy` while the primary serves, `degraded` while a fallback serves or
   * a provider the mode needs cannot serve, `unhealthy` when none can serve or
   * the last call found none that could. `canServe` is per provider, in order.
   */
  status(canServe: readonly boolean[], mode: AuthMode): HealthStatus {
    if (!canServe.includes(true) || this.#serving === 'unavailable') return 'unhealthy';
    const needed = mode === 'failover' ? canServe.slice(0, 1) : canServe;
    return needed.every(Boolean) && this.#serving === 'healthy' ? 'healthy' : 'degraded';
  }

  /** Moves to `next`; `announce`, if given, runs only on a change. */
  #moveTo(next: Serving, announce?: () => void): void {
    if (this.#serving === next) return;
    this.#serving = next;
    announce?.();
  }
}

/** Failures as events carry them: without the raw error, whose message is not redacted. */
export function summaries(failures: readonly Failure[]): FailureSummary[] {
  return failures.map(({ error: _raw, ...summary }) => summary);
}
