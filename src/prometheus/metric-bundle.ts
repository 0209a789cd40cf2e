import { Counter, Gauge, Histogram, type Metric } from 'prom-client';
import { ConfigError } from '../errors/errors.js';
import { type AttachedAuth, CIRCUIT_STATES, type CircuitStateName } from '../hooks/events.js';
import { type MetricNames, metricNames } from './metric-names.js';
import type { ParsedPrometheusOptions, PrometheusRegistry } from './prometheus-options.js';

/** One authenticator as the metrics see it: what `attach()` gave, and who served its last answer. */
export interface AttachedView {
  readonly auth: AttachedAuth;
  /** The provider that served the last answer; undefined before any and after an unavailable call. */
  serving: string | undefined;
}

/**
 * The metrics of one registry and prefix, shared by every `prometheusHooks()`
 * call on them, with the authenticators attached to them (read at scrape time).
 */
export interface MetricBundle {
  readonly attempts: Counter<'outcome'>;
  readonly authenticateDuration: Histogram<'outcome'>;
  readonly lookupDuration: Histogram<'provider' | 'result'>;
  readonly providerFailures: Counter<'provider' | 'kind'>;
  readonly fallbacks: Counter<'provider'>;
  readonly providerState: Gauge<'provider' | 'state'>;
  readonly serving: Gauge<'provider'>;
  readonly hedgedLookups: Counter<'provider'>;
  readonly shadowMismatches: Counter<'rollout'>;
  readonly rolledBack: Gauge<'rollout'>;
  readonly emergencyLogins: Counter<'result'>;
  readonly views: Set<AttachedView>;
  readonly lookupBuckets: readonly number[];
  readonly authenticateBuckets: readonly number[];
}

// One map for every copy of this module in the process (a dev server that
// re-imports the app's modules, two bundled copies): a second copy finds the
// metrics the first registered instead of failing with "already registered".
// The key names the shape of what is stored; a copy with another shape sees
// the metrics as foreign and says so.
const BUNDLES_KEY = Symbol.for('resilient-auth.prometheus.bundles.v2');

type BundleStore = WeakMap<object, Map<string, MetricBundle>>;

function bundleStore(): BundleStore {
  const holder = globalThis as { [BUNDLES_KEY]?: BundleStore };
  holder[BUNDLES_KEY] ??= new WeakMap();
  return holder[BUNDLES_KEY];
}

/**
 * The metrics for `options.registry` and `options.prefix`: those an earlier
 * call registered there, or new ones. Throws a `ConfigError` when the
 * registry holds a metric of one of the names that is not ours, or when the
 * buckets differ from the ones registered before.
 */
export function sharedBundle(options: ParsedPrometheusOptions): MetricBundle {
  const { registry, prefix } = options;
  const names = metricNames(prefix);
  const byPrefix = bundleStore().get(registry) ?? new Map<string, MetricBundle>();
  bundleStore().set(registry, byPrefix);
  const existing = byPrefix.get(prefix);

  for (const key of Object.keys(names) as (keyof MetricNames)[]) {
    const found = registry.getSingleMetric(names[key]);
    if (found !== undefined && found !== existing?.[key]) {
      throw new ConfigError(
        'prometheusHooks.registry',
        `it already holds a metric named "${names[key]}" that prometheusHooks did not register; pass another registry, or another prefix`,
      );
    }
  }

  if (existing === undefined) {
    const created = createBundle(registry, names, options);
    byPrefix.set(prefix, created);
    return created;
  }
  sameBuckets('lookupBuckets', existing.lookupBuckets, options.lookupBuckets, names.lookupDuration);
  sameBuckets(
    'authenticateBuckets',
    existing.authenticateBuckets,
    options.authenticateBuckets,
    names.authenticateDuration,
  );
  // Put back what was removed from the registry since (registry.clear(), removeSingleMetric()).
  for (const key of Object.keys(names) as (keyof MetricNames)[]) {
    if (registry.getSingleMetric(names[key]) === undefined) {
      registry.registerMetric(existing[key] as Metric<string>);
    }
  }
  return existing;
}

function sameBuckets(
  option: 'lookupBuckets' | 'authenticateBuckets',
  registered: readonly number[],
  wanted: readonly number[],
  metric: string,
): void {
  if (registered.length === wanted.length && registered.every((b, i) => b === wanted[i])) return;
  throw new ConfigError(
    `prometheusHooks.${option}`,
    `"${metric}" is already registered on this registry with buckets [${registered.join(', ')}]; give the same buckets, or another prefix`,
  );
}

function createBundle(
  registry: PrometheusRegistry,
  names: MetricNames,
  options: ParsedPrometheusOptions,
): MetricBundle {
  const registers = [registry];
  const views = new Set<AttachedView>();

  const attempts = new Counter({
    name: names.attempts,
    help: 'authenticate() calls, counted when each ends, by outcome: authenticated; refused (invalid_credentials, account_disabled, account_locked, rate_limited, invalid_input); or unavailable (no provider could answer: AuthUnavailableError).',
    labelNames: ['outcome'] as const,
    registers,
  });
  const authenticateDuration = new Histogram({
    name: names.authenticateDuration,
    help: 'Time of one authenticate() call, from its start to its answer or AuthUnavailableError, password check included, in seconds, by outcome (as in attempts_total).',
    labelNames: ['outcome'] as const,
    buckets: [...options.authenticateBuckets],
    registers,
  });
  const lookupDuration = new Histogram({
    name: names.lookupDuration,
    help: 'Time of one lookup attempt on one provider (each retry on its own), in seconds, by result: found, not_found (both answers), failed (could not answer) or cancelled (a hedged lookup another provider answered first).',
    labelNames: ['provider', 'result'] as const,
    buckets: [...options.lookupBuckets],
    registers,
  });
  const providerFailures = new Counter({
    name: names.providerFailures,
    help: 'Lookup attempts on a provider that could not answer, every retry counted, by failure kind (connection, pool_exhausted, timeout, schema, authentication, read_only, configuration, overloaded, other). Providers skipped by an open breaker are not counted.',
    labelNames: ['provider', 'kind'] as const,
    registers,
  });
  const fallbacks = new Counter({
    name: names.fallbacks,
    help: 'Answers served by a provider after the providers before it could not answer (failed, or skipped by an open or isolated breaker), by the provider that answered.',
    labelNames: ['provider'] as const,
    registers,
  });
  const providerState = new Gauge({
    name: names.providerState,
    help: 'Circuit breaker state of each provider, read at scrape time: 1 for its state (closed, open, half-open, isolated), 0 for the others. With several authenticators on one registry: how many are in each state.',
    labelNames: ['provider', 'state'] as const,
    registers,
    collect() {
      const counts = new Map<string, Record<CircuitStateName, number>>();
      for (const view of views) {
        for (const { name, state } of view.auth.health().providers) {
          const byState = counts.get(name) ?? { closed: 0, open: 0, 'half-open': 0, isolated: 0 };
          byState[state] += 1;
          counts.set(name, byState);
        }
      }
      providerState.reset();
      for (const [provider, byState] of counts) {
        for (const state of CIRCUIT_STATES) providerState.set({ provider, state }, byState[state]);
      }
    },
  });
  const serving = new Gauge({
    name: names.serving,
    help: 'Which provider served the last answer: 1 for it, 0 for the others; all 0 before the first answer and after a call no provider could answer. With several authenticators on one registry: how many it served last.',
    labelNames: ['provider'] as const,
    registers,
    collect() {
      const counts = new Map<string, number>();
      for (const view of views) {
        for (const name of view.auth.providers) counts.set(name, counts.get(name) ?? 0);
        if (view.serving !== undefined && counts.has(view.serving)) {
          counts.set(view.serving, (counts.get(view.serving) ?? 0) + 1);
        }
      }
      serving.reset();
      for (const [provider, value] of counts) serving.set({ provider }, value);
    },
  });

  const hedgedLookups = new Counter({
    name: names.hedgedLookups,
    help: 'Lookups started as hedges (policy.hedgeAfterMs: the provider before was slow to answer), by the provider asked: the extra load hedging causes. Divide by attempts_total for extra lookups per login.',
    labelNames: ['provider'] as const,
    registers,
  });
  const shadowMismatches = new Counter({
    name: names.shadowMismatches,
    help: "Logins a rollout's candidate chain, run in shadow, would have answered otherwise than the control (another outcome or another user), by rollout.",
    labelNames: ['rollout'] as const,
    registers,
  });
  const rolledBack = new Gauge({
    name: names.rolledBack,
    help: 'Rollouts gone back to their control by themselves, read at scrape time: 1 while rolled back (until auth.resumeRollout()), 0 while active, by rollout. With several authenticators on one registry: how many rolled back.',
    labelNames: ['rollout'] as const,
    registers,
    collect() {
      const counts = new Map<string, number>();
      for (const view of views) {
        const rollout = view.auth.health().rollout;
        if (rollout === undefined) continue;
        const back = rollout.state === 'rolled_back' ? 1 : 0;
        counts.set(rollout.name, (counts.get(rollout.name) ?? 0) + back);
      }
      rolledBack.reset();
      for (const [rollout, value] of counts) rolledBack.set({ rollout }, value);
    },
  });
  const emergencyLogins = new Counter({
    name: names.emergencyLogins,
    help: 'Break-glass logins while every provider was down, by result: granted, or refused (a wrong password, expired accounts, a check that failed or was not allowed) on an emergency identifier.',
    labelNames: ['result'] as const,
    registers,
  });

  return Object.freeze({
    attempts,
    authenticateDuration,
    lookupDuration,
    providerFailures,
    fallbacks,
    providerState,
    serving,
    hedgedLookups,
    shadowMismatches,
    rolledBack,
    emergencyLogins,
    views,
    lookupBuckets: options.lookupBuckets,
    authenticateBuckets: options.authenticateBuckets,
  });
}
