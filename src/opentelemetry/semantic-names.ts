/**
 * The instrumentation scope of the tracer and the meter. No version: the
 * package exposes none at run time, and a copied number would drift.
 */
export const INSTRUMENTATION_SCOPE = 'resilient-auth';

/** Span names. */
export const SPAN = Object.freeze({
  authenticate: 'resilient_auth.authenticate',
  lookup: 'resilient_auth.lookup',
});

/** Span event names. */
export const SPAN_EVENT = Object.freeze({
  fallback: 'resilient_auth.fallback',
  skipped: 'resilient_auth.provider.skipped',
});

/**
 * Attribute keys, namespaced `resilient_auth.` except OpenTelemetry's own
 * `error.type`. None carries an identifier, an IP, a user agent, a password,
 * a hash or an error message.
 */
export const ATTR = Object.freeze({
  outcome: 'resilient_auth.outcome',
  rejectionCause: 'resilient_auth.rejection.cause',
  throttleLimit: 'resilient_auth.throttle.limit',
  provider: 'resilient_auth.provider',
  degraded: 'resilient_auth.degraded',
  requestId: 'resilient_auth.request_id',
  lookupResult: 'resilient_auth.lookup.result',
  lookupAttempt: 'resilient_auth.lookup.attempt',
  failureCode: 'resilient_auth.failure.code',
  skipReason: 'resilient_auth.skip.reason',
  fallbackFrom: 'resilient_auth.fallback.from',
  circuitState: 'resilient_auth.circuit.state',
  errorType: 'error.type',
});

/**
 * Metric attribute keys: short, as the metric names scope them (`outcome` on
 * `resilient_auth.attempts`), so that a Prometheus exporter yields the labels
 * `prometheusHooks()` uses and the example alert rules read; OpenTelemetry's
 * own `error.type` for the failure kind.
 */
export const METRIC_ATTR = Object.freeze({
  outcome: 'outcome',
  provider: 'provider',
  result: 'result',
  state: 'state',
  rollout: 'rollout',
  errorType: 'error.type',
});

/** Metric names, after ASP.NET Core Identity's `aspnetcore.identity.sign_in.*`. */
export const METRIC = Object.freeze({
  attempts: 'resilient_auth.attempts',
  authenticateDuration: 'resilient_auth.authenticate.duration',
  lookupDuration: 'resilient_auth.provider.lookup.duration',
  providerFailures: 'resilient_auth.provider.failures',
  fallbacks: 'resilient_auth.fallback',
  providerState: 'resilient_auth.provider.state',
  serving: 'resilient_auth.serving',
  hedgedLookups: 'resilient_auth.hedged_lookups',
  shadowMismatches: 'resilient_auth.shadow_mismatches',
  rolledBack: 'resilient_auth.rollout.rolled_back',
  emergencyLogins: 'resilient_auth.emergency_logins',
});

/**
 * Advisory histogram buckets in seconds: ASP.NET Core's short-seconds
 * boundaries (those of `http.server.request.duration` too), 5 ms to 10 s. A
 * login lands between a fast lookup plus one bcrypt (tens of milliseconds)
 * and the deadline (3 s by default).
 */
export const DURATION_BUCKETS_S: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]);
