import { metrics, trace } from '@opentelemetry/api';
import type {
  AttachedAuth,
  AttemptEvent,
  AttemptStartEvent,
  AuthHooks,
  EmergencyAccessEvent,
  FallbackEvent,
  LookupEvent,
  ShadowMismatchEvent,
  UnavailableEvent,
} from '../hooks/events.js';
import { runEach } from '../hooks/run-each.js';
import { AuthMetrics } from './auth-metrics.js';
import { AuthSpans } from './auth-spans.js';
import { type OpenTelemetryHooksOptions, parseOpenTelemetryOptions } from './otel-options.js';
import { INSTRUMENTATION_SCOPE } from './semantic-names.js';

/** The hook set `openTelemetryHooks()` returns: install it in one authenticator. */
export interface OpenTelemetryHooks extends AuthHooks {
  onAttemptStart(event: AttemptStartEvent): void;
  onLookup(event: LookupEvent): void;
  onFallback(event: FallbackEvent): void;
  onShadowMismatch(event: ShadowMismatchEvent): void;
  onEmergencyAccess(event: EmergencyAccessEvent): void;
  onAttempt(event: AttemptEvent): void;
  onUnavailable(event: UnavailableEvent): void;
  /** Called by `createResilientAuth()`; a second authenticator is refused. */
  attach(auth: AttachedAuth): void;
  /** Called by `auth.close()`: stops observing the gauges and drops the authenticator. */
  close(): Promise<void>;
}

/**
 * Traces and metrics through `@opentelemetry/api` (an optional peer
 * dependency; bring your own SDK). A span `resilient_auth.authenticate` per
 * call, under the caller's active span, with a child `resilient_auth.lookup`
 * per lookup attempt; the metrics `resilient_auth.attempts`,
 * `resilient_auth.authenticate.duration`, `resilient_auth.provider.lookup.duration`,
 * `resilient_auth.provider.failures`, `resilient_auth.fallback`,
 * `resilient_auth.provider.state`, `resilient_auth.serving`,
 * `resilient_auth.hedged_lookups`, `resilient_auth.shadow_mismatches`,
 * `resilient_auth.rollout.rolled_back` and `resilient_auth.emergency_logins`. No
 * identifier, IP, user agent, password, hash or error message in any
 * attribute. With no SDK registered it costs next to nothing.
 *
 * @example
 * ```ts
 * import { openTelemetryHooks } from 'resilient-auth/opentelemetry';
 *
 * // After the SDK started (NodeSDK, or your own providers):
 * const auth = createResilientAuth({ providers, hooks: [openTelemetryHooks()] });
 * // or explicitly: openTelemetryHooks({ tracerProvider, meterProvider })
 * ```
 */
export function openTelemetryHooks(options?: OpenTelemetryHooksOptions): OpenTelemetryHooks {
  const { tracerProvider, meterProvider } = parseOpenTelemetryOptions(options);
  const tracer = (tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_SCOPE);
  const meter = (meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_SCOPE);
  return Object.freeze(new OpenTelemetryHookSet(new AuthSpans(tracer), new AuthMetrics(meter)));
}

class OpenTelemetryHookSet implements OpenTelemetryHooks {
  readonly #spans: AuthSpans;
  readonly #metrics: AuthMetrics;

  constructor(spans: AuthSpans, metrics: AuthMetrics) {
    this.#spans = spans;
    this.#metrics = metrics;
  }

  onAttemptStart(event: AttemptStartEvent): void {
    this.#spans.start(event);
  }

  onLookup(event: LookupEvent): void {
    runEach(
      () => this.#spans.lookup(event),
      () => this.#metrics.lookup(event),
    );
  }

  onShadowMismatch(event: ShadowMismatchEvent): void {
    this.#metrics.shadowMismatch(event);
  }

  onEmergencyAccess(event: EmergencyAccessEvent): void {
    this.#metrics.emergencyAccess(event);
  }

  onFallback(event: FallbackEvent): void {
    runEach(
      () => this.#spans.fallback(event),
      () => this.#metrics.fallback(event),
    );
  }

  onAttempt(event: AttemptEvent): void {
    runEach(
      () => this.#spans.attempt(event),
      () => this.#metrics.attempt(event),
    );
  }

  onUnavailable(event: UnavailableEvent): void {
    runEach(
      () => this.#spans.unavailable(event),
      () => this.#metrics.unavailable(event),
    );
  }

  attach(auth: AttachedAuth): void {
    this.#metrics.attach(auth);
  }

  async close(): Promise<void> {
    this.#metrics.close();
  }
}
