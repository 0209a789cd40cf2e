/** The metric names of one prefix, e.g. `attempts: 'resilient_auth_attempts_total'`. */
export interface MetricNames {
  readonly attempts: string;
  readonly authenticateDuration: string;
  readonly lookupDuration: string;
  readonly providerFailures: string;
  readonly fallbacks: string;
  readonly providerState: string;
  readonly serving: string;
  readonly hedgedLookups: string;
  readonly shadowMismatches: string;
  readonly rolledBack: string;
  readonly emergencyLogins: string;
}

/** The names of the metrics `prometheusHooks` registers with `prefix`. */
export function metricNames(prefix: string): MetricNames {
  return Object.freeze({
    attempts: `${prefix}_attempts_total`,
    authenticateDuration: `${prefix}_authenticate_duration_seconds`,
    lookupDuration: `${prefix}_provider_lookup_duration_seconds`,
    providerFailures: `${prefix}_provider_failures_total`,
    fallbacks: `${prefix}_fallback_total`,
    providerState: `${prefix}_provider_state`,
    serving: `${prefix}_serving`,
    hedgedLookups: `${prefix}_hedged_lookups_total`,
    shadowMismatches: `${prefix}_shadow_mismatches_total`,
    rolledBack: `${prefix}_rollout_rolled_back`,
    emergencyLogins: `${prefix}_emergency_logins_total`,
  });
}
