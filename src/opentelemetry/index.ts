// resilient-auth/opentelemetry: traces and metrics through @opentelemetry/api (an optional peer).

export type { OpenTelemetryHooks } from './open-telemetry-hooks.js';
export { openTelemetryHooks } from './open-telemetry-hooks.js';
export type { OpenTelemetryHooksOptions } from './otel-options.js';
