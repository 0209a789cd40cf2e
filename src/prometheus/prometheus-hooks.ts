import { ATTEMPT_OUTCOMES, attemptOutcome } from '../hooks/attempt-outcome.js';
import type {
  AttachedAuth,
  AttemptEvent,
  AuthHooks,
  EmergencyAccessEvent,
  FallbackEvent,
  LookupEvent,
  ProviderFailureEvent,
  ShadowMismatchEvent,
  UnavailableEvent,
} from '../hooks/events.js';
import { VERIFIER_FAILURE_PROVIDER } from '../hooks/events.js';
import { runEach } from '../hooks/run-each.js';
import { type AttachedView, sharedBundle } from './metric-bundle.js';
import { type PrometheusHooksOptions, parsePrometheusOptions } from './prometheus-options.js';

/**
 * The hook set {@link prometheusHooks} returns: install it in `hooks`. Every
 * event updates a metric synchronously (an increment or an observation, no
 * I/O); the breaker states and who serves are read at scrape time.
 */
export interface PrometheusHooks extends AuthHooks {
  onAttempt(event: AttemptEvent): void;
  onLookup(event: LookupEvent): void;
  onShadowMismatch(event: ShadowMismatchEvent): void;
  onEmergencyAccess(event: EmergencyAccessEvent): void;
  onProviderFailure(event: ProviderFailureEvent): void;
  onFallback(event: FallbackEvent): void;
  onUnavailable(event: UnavailableEvent): void;
  /**
   * Called by `createResilientAuth()`: the authenticator's providers and
   * breakers are reported from then on. One hook set per authenticator: a
   * second `attach()` throws (call `prometheusHooks()` again, the metrics are
   * shared).
   */
  attach(auth: AttachedAuth): void;
  /** Called by `auth.close()`: the authenticator is no longer reported in `provider_state` and `serving`. */
  close(): Promise<void>;
}

/**
 * Prometheus metrics for an authenticator, through prom-client (an optional
 * peer dependency: `npm install prom-client`). Registers on the registry it
 * is given, never on prom-client's global one, and leaves
 * `collectDefaultMetrics` to the application. Metrics, with the default
 * prefix:
 *
 * - `resilient_auth_attempts_total{outcome}`: calls by how they ended;
 * - `resilient_auth_authenticate_duration_seconds{outcome}`: their duration;
 * - `resilient_auth_provider_lookup_duration_seconds{provider,result}`: each lookup attempt;
 * - `resilient_auth_provider_failures_total{provider,kind}`: lookup attempts that could not answer;
 * - `resilient_auth_fallback_total{provider}`: answers served by a fallback;
 * - `resilient_auth_provider_state{provider,state}`: breaker state, one-hot, read at scrape time;
 * - `resilient_auth_serving{provider}`: 1 for the provider that served the last answer;
 * - `resilient_auth_hedged_lookups_total{provider}`: lookups started as hedges (their extra load);
 * - `resilient_auth_shadow_mismatches_total{rollout}`: shadow comparisons that disagreed;
 * - `resilient_auth_rollout_rolled_back{rollout}`: 1 while a rollout is rolled back, read at scrape time;
 * - `resilient_auth_emergency_logins_total{result}`: break-glass logins, `granted` or `refused`.
 *
 * No label carries an identifier, an IP address or an error message.
 * Calling it again with the same registry and prefix (a second
 * authenticator, a dev server re-importing the module) reuses the metrics:
 * counters add up, and `provider_state` counts the authenticators in each
 * state. A metric that fails to update is logged by the authenticator's
 * logger and never changes a login.
 *
 * @throws ConfigError on a bad option, or when the registry already holds a
 *   metric of one of these names that this function did not register.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { createResilientAuth } from 'resilient-auth';
 * import { prometheusHooks } from 'resilient-auth/prometheus';
 *
 * const registry = new Registry();
 * const auth = createResilientAuth({
 *   providers: [ormLookup, rawSql],
 *   hooks: prometheusHooks({ registry }),
 * });
 * app.get('/metrics', async (_req, res) => {
 *   res.set('Content-Type', registry.contentType).send(await registry.metrics());
 * });
 * ```
 */
export function prometheusHooks(options: PrometheusHooksOptions): PrometheusHooks {
  const bundle = sharedBundle(parsePrometheusOptions(options));
  let view: AttachedView | undefined;

  const hooks: PrometheusHooks = {
    attach(auth) {
      if (view !== undefined) {
        throw new Error(
          'this prometheusHooks() hook set is already attached to an authenticator; call prometheusHooks() once per authenticator (they share the metrics)',
        );
      }
      // Every series a dashboard or an alert reads exists from the first scrape.
      for (const outcome of ATTEMPT_OUTCOMES) bundle.attempts.inc({ outcome }, 0);
      for (const provider of auth.providers) {
        bundle.fallbacks.inc({ provider }, 0);
        bundle.hedgedLookups.inc({ provider }, 0);
      }
      const rollout = auth.health().rollout;
      if (rollout !== undefined) bundle.shadowMismatches.inc({ rollout: rollout.name }, 0);
      for (const result of ['granted', 'refused']) bundle.emergencyLogins.inc({ result }, 0);
      view = { auth, serving: undefined };
      bundle.views.add(view);
    },

    onAttempt(event) {
      const outcome = attemptOutcome(event);
      if (view !== undefined && event.provider !== undefined) view.serving = event.provider;
      runEach(
        () => bundle.attempts.inc({ outcome }, 1),
        () => bundle.authenticateDuration.observe({ outcome }, event.durationMs / 1000),
      );
    },

    onUnavailable(event) {
      // A password check that failed after a lookup answered says nothing about the providers.
      if (
        view !== undefined &&
        event.failures.some((f) => f.provider !== VERIFIER_FAILURE_PROVIDER)
      ) {
        view.serving = undefined;
      }
      runEach(
        () => bundle.attempts.inc({ outcome: 'unavailable' }, 1),
        () =>
          bundle.authenticateDuration.observe({ outcome: 'unavailable' }, event.durationMs / 1000),
      );
    },

    onLookup({ provider, result, durationMs, hedged }) {
      runEach(
        () => bundle.lookupDuration.observe({ provider, result }, durationMs / 1000),
        () => hedged && bundle.hedgedLookups.inc({ provider }, 1),
      );
    },

    onShadowMismatch({ rollout }) {
      bundle.shadowMismatches.inc({ rollout }, 1);
    },

    onEmergencyAccess({ granted }) {
      bundle.emergencyLogins.inc({ result: granted ? 'granted' : 'refused' }, 1);
    },

    onProviderFailure({ provider, kind }) {
      bundle.providerFailures.inc({ provider, kind }, 1);
    },

    onFallback({ provider }) {
      bundle.fallbacks.inc({ provider }, 1);
    },

    async close() {
      if (view !== undefined) bundle.views.delete(view);
    },
  };
  return Object.freeze(hooks);
}
