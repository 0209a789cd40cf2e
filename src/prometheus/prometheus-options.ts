import type { OpenMetricsContentType, PrometheusContentType, Registry } from 'prom-client';
import { z } from 'zod';
import { parseFactoryOptions } from '../errors/factory-options.js';

/** A prom-client registry, in either exposition format. */
export type PrometheusRegistry = Registry<PrometheusContentType> | Registry<OpenMetricsContentType>;

/** Options of `prometheusHooks`. Validated at construction; a bad one throws `ConfigError` naming it. */
export interface PrometheusHooksOptions {
  /**
   * Where the metrics are registered: the registry your `/metrics` route
   * serves. Required, so that nothing lands on prom-client's global
   * `register` by surprise. Calling `prometheusHooks` again with the same
   * registry and prefix reuses the metrics registered the first time.
   */
  readonly registry: PrometheusRegistry;
  /**
   * Start of every metric name, a Prometheus metric name without colons
   * (`[a-zA-Z_][a-zA-Z0-9_]*`). Default: `'resilient_auth'`.
   */
  readonly prefix?: string;
  /**
   * Upper bounds, in seconds, of the `provider_lookup_duration_seconds`
   * buckets: positive, increasing (`+Inf` is added).
   * Default: `[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]`.
   */
  readonly lookupBuckets?: readonly number[];
  /**
   * Upper bounds, in seconds, of the `authenticate_duration_seconds` buckets
   * (a login includes its password hashing): positive, increasing.
   * Default: `[0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10]`.
   */
  readonly authenticateBuckets?: readonly number[];
}

/** Default option values; documented in {@link PrometheusHooksOptions}. */
export const PROMETHEUS_DEFAULTS = Object.freeze({
  prefix: 'resilient_auth',
  lookupBuckets: Object.freeze([
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
  ]),
  authenticateBuckets: Object.freeze([
    0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10,
  ]),
});

/** The options as the hooks use them: validated, defaults filled in. */
export interface ParsedPrometheusOptions {
  readonly registry: PrometheusRegistry;
  readonly prefix: string;
  readonly lookupBuckets: readonly number[];
  readonly authenticateBuckets: readonly number[];
}

const registrySchema = z.custom<PrometheusRegistry>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { registerMetric?: unknown }).registerMetric === 'function' &&
    typeof (value as { getSingleMetric?: unknown }).getSingleMetric === 'function',
  { error: "expected a prom-client Registry (new Registry() from 'prom-client')" },
);

const buckets = z
  .array(z.number().positive('every bucket bound must be positive (seconds)'))
  .min(1, 'expected at least one bucket bound')
  .max(100, 'at most 100 bucket bounds')
  .refine((bounds) => bounds.every((bound, i) => i === 0 || bound > (bounds[i - 1] ?? 0)), {
    error: 'bucket bounds must be strictly increasing',
  });

const schema = z.strictObject({
  registry: registrySchema,
  prefix: z
    .string()
    .max(100)
    .regex(
      /^[a-zA-Z_][a-zA-Z0-9_]*$/,
      'expected a Prometheus metric name without colons: [a-zA-Z_][a-zA-Z0-9_]*',
    )
    .refine((prefix) => !prefix.startsWith('__'), {
      error: 'names starting with "__" are reserved by Prometheus',
    })
    .optional(),
  lookupBuckets: buckets.optional(),
  authenticateBuckets: buckets.optional(),
});

/** Validates `prometheusHooks` options; throws a `ConfigError` naming the first bad one. */
export function parsePrometheusOptions(options: PrometheusHooksOptions): ParsedPrometheusOptions {
  const o = parseFactoryOptions('prometheusHooks', schema, options);
  return Object.freeze({
    registry: o.registry,
    prefix: o.prefix ?? PROMETHEUS_DEFAULTS.prefix,
    lookupBuckets: Object.freeze([...(o.lookupBuckets ?? PROMETHEUS_DEFAULTS.lookupBuckets)]),
    authenticateBuckets: Object.freeze([
      ...(o.authenticateBuckets ?? PROMETHEUS_DEFAULTS.authenticateBuckets),
    ]),
  });
}
