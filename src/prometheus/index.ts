// resilient-auth/prometheus: Prometheus metrics through prom-client (an optional peer dependency).

export type { PrometheusHooks } from './prometheus-hooks.js';
export { prometheusHooks } from './prometheus-hooks.js';
export type { PrometheusHooksOptions, PrometheusRegistry } from './prometheus-options.js';
export { PROMETHEUS_DEFAULTS } from './prometheus-options.js';
