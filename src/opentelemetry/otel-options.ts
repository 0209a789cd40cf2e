import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { z } from 'zod';
import { parseFactoryOptions } from '../errors/factory-options.js';

/** Options of `openTelemetryHooks`. Validated at construction; a bad one throws `ConfigError`. */
export interface OpenTelemetryHooksOptions {
  /**
   * Where the spans go: the app's provider (a `NodeTracerProvider`, say).
   * Default: the global one (`trace.getTracer('resilient-auth')`), which
   * follows whatever the app registers, even later.
   */
  readonly tracerProvider?: TracerProvider;
  /**
   * Where the metrics go. Default: the global one
   * (`metrics.getMeter('resilient-auth')`), taken when the hooks are created:
   * start the SDK first, the global meter provider is not a proxy.
   */
  readonly meterProvider?: MeterProvider;
}

/** An option that must be an object with a method `method`. */
function withMethod<T>(method: string, what: string) {
  return z.custom<T>(
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      typeof (value as Record<string, unknown>)[method] === 'function',
    { message: `expected ${what} (an object with ${method}())` },
  );
}

const optionsSchema = z.strictObject({
  tracerProvider: withMethod<TracerProvider>('getTracer', 'a TracerProvider').optional(),
  meterProvider: withMethod<MeterProvider>('getMeter', 'a MeterProvider').optional(),
});

/** Validates and freezes the options; a `ConfigError` naming `openTelemetryHooks.option` otherwise. */
export function parseOpenTelemetryOptions(options: unknown): Readonly<OpenTelemetryHooksOptions> {
  return Object.freeze(parseFactoryOptions('openTelemetryHooks', optionsSchema, options ?? {}));
}
