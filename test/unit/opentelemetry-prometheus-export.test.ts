import { readFileSync } from 'node:fs';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  createResilientAuth,
  isAuthUnavailableError,
  memoryProvider,
  rollout,
} from '../../src/index.js';
import { openTelemetryHooks } from '../../src/opentelemetry/index.js';
import { pgError, recordingVerifier } from '../support/fakes.js';
import { accounts, PASSWORD } from '../support/fixtures.js';

const example = (file: string) =>
  readFileSync(new URL(`../../examples/${file}`, import.meta.url), 'utf8');

/** What a Prometheus scrape shows of openTelemetryHooks' metrics, through OpenTelemetry's own Prometheus exporter. */
async function scrapeThroughOpenTelemetry(): Promise<string> {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  // A rollout that sends nobody to its candidate yet: its series exist all the same.
  const primary = memoryProvider({ name: 'primary', accounts });
  const fallback = memoryProvider({ name: 'fallback', accounts });
  const auth = createResilientAuth({
    providers: rollout({
      name: 'users-v2',
      control: [primary, fallback],
      candidate: [memoryProvider({ name: 'candidate', accounts })],
      percent: 0,
    }),
    verifier: recordingVerifier(),
    hooks: openTelemetryHooks({ meterProvider }),
    policy: { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 1 } },
  });
  const login = { identifier: 'ada@example.com', password: PASSWORD };
  await auth.authenticate(login);
  primary.fail(pgError('42703'));
  await auth.authenticate(login);
  fallback.fail(pgError('08006'));
  await auth.authenticate(login).catch((error: unknown) => {
    if (!isAuthUnavailableError(error)) throw error;
  });
  const { resourceMetrics, errors } = await exporter.collect();
  expect(errors).toEqual([]);
  await meterProvider.shutdown();
  return new PrometheusSerializer().serialize(resourceMetrics);
}

describe('openTelemetryHooks exported to Prometheus', () => {
  it('gives the names and labels of prometheusHooks, so the example alert rules read either', async () => {
    const text = await scrapeThroughOpenTelemetry();
    expect(text).toMatch(/^resilient_auth_attempts_total\{outcome="unavailable",[^}]*\} 1/m);
    expect(text).toMatch(/^resilient_auth_fallback_total\{provider="fallback",[^}]*\} 1/m);
    expect(text).toMatch(
      /^resilient_auth_provider_state\{provider="primary",state="open",[^}]*\} 1/m,
    );
    expect(text).toMatch(/^resilient_auth_serving\{provider="primary",[^}]*\} 0/m);
    expect(text).toMatch(/^resilient_auth_hedged_lookups_total\{provider="fallback",[^}]*\} 0/m);
    expect(text).toMatch(/^resilient_auth_shadow_mismatches_total\{rollout="users-v2",[^}]*\} 0/m);
    expect(text).toMatch(/^resilient_auth_rollout_rolled_back\{rollout="users-v2",[^}]*\} 0/m);
    expect(text).toMatch(/^resilient_auth_emergency_logins_total\{result="granted",[^}]*\} 0/m);
    // This exporter adds no unit suffix: the histograms lack prometheusHooks' `_seconds`.
    expect(text).toMatch(/^resilient_auth_authenticate_duration_bucket\{outcome="authenticated",/m);
    expect(text).toMatch(
      /^resilient_auth_provider_lookup_duration_count\{provider="primary",result="failed",/m,
    );
    // The failure kind is OpenTelemetry's error.type: error_type here, where prometheusHooks says kind.
    expect(text).toMatch(
      /^resilient_auth_provider_failures_total\{provider="primary",error_type="schema",/m,
    );

    const rules = (
      parse(example('prometheus-alerts.yml')) as { groups: { rules: { expr: string }[] }[] }
    ).groups.flatMap((group) => group.rules);
    for (const { expr } of rules) {
      for (const [selector, name, labels] of expr.matchAll(
        /(resilient_auth_[a-z_]+)(\{[^}]*\})?/g,
      )) {
        expect(text, selector).toMatch(new RegExp(`^${name}[{ ]`, 'm'));
        for (const [, label] of (labels ?? '').matchAll(/([a-z_]+)=~?"/g)) {
          expect(text, `${selector}: label ${label}`).toMatch(
            new RegExp(`^${name}\\{[^}]*\\b${label}="`, 'm'),
          );
        }
      }
    }
  });
});
