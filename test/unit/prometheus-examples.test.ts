import { readFileSync } from 'node:fs';
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { prometheusHooks } from '../../src/prometheus/index.js';
import { twoProviders } from '../support/fixtures.js';

const example = (file: string) =>
  readFileSync(new URL(`../../examples/${file}`, import.meta.url), 'utf8');

interface AlertRule {
  alert?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface Panel {
  title?: string;
  type?: string;
  datasource?: { uid?: string };
  targets?: { expr?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}

/** Every series name a scrape of `registry` can show: histograms as `_bucket`, `_sum` and `_count`. */
function exposedNames(registry: Registry): Set<string> {
  const names = new Set<string>();
  for (const metric of registry.getMetricsAsArray()) {
    if (metric instanceof Histogram) {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
    } else {
      names.add(metric.name);
    }
  }
  return names;
}

/** The registry of an authenticator with the default prefix, as an app would expose it. */
function attachedRegistry(): Registry {
  const registry = new Registry();
  twoProviders({ hooks: prometheusHooks({ registry }) });
  return registry;
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's placeholder for the datasource chosen at import.
const DATASOURCE = '${DS_PROMETHEUS}';

const metricNamesIn = (expr: string) => expr.match(/resilient_auth_[a-z_]+/g) ?? [];

describe('examples/prometheus-alerts.yml', () => {
  const rules: AlertRule[] = (
    parse(example('prometheus-alerts.yml')) as { groups: { rules: AlertRule[] }[] }
  ).groups.flatMap((group) => group.rules);

  it('alerts on degraded for over a minute, unavailable at all, and a flapping provider', () => {
    const byName = new Map(rules.map((rule) => [rule.alert, rule]));
    expect(byName.get('ResilientAuthDegraded')).toMatchObject({
      expr: expect.stringContaining('resilient_auth_fallback_total'),
      for: '2m',
    });
    expect(byName.get('ResilientAuthUnavailable')?.expr).toMatch(
      /increase\(resilient_auth_attempts_total\{outcome="unavailable"\}\[\w+\]\)\) > 0$/,
    );
    expect(byName.get('ResilientAuthProviderFlapping')?.expr).toMatch(
      /^changes\(resilient_auth_provider_state\{state="closed"\}\[\w+\]\) > \d+$/,
    );
  });

  it('gives every alert a severity, a summary and a description that says what to check first', () => {
    expect(rules.length).toBeGreaterThanOrEqual(3);
    for (const rule of rules) {
      expect(rule.alert).toMatch(/^ResilientAuth[A-Z]\w+$/);
      expect(['critical', 'warning']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary).toBeTruthy();
      expect(rule.annotations?.description).toContain('Check first');
      expect(rule.annotations?.description).toContain('README');
    }
  });

  it('uses only metric names that the registry really exposes', () => {
    const exposed = exposedNames(attachedRegistry());
    const used = rules.flatMap((rule) => metricNamesIn(rule.expr ?? ''));
    expect(used.length).toBeGreaterThanOrEqual(rules.length);
    for (const name of used) expect(exposed, name).toContain(name);
  });
});

describe('examples/grafana-dashboard.json', () => {
  const dashboard = JSON.parse(example('grafana-dashboard.json')) as {
    schemaVersion: number;
    __inputs: { name: string; type: string; pluginId: string }[];
    panels: Panel[];
    templating: { list: { query: { query: string } }[] };
  };
  const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
  const exprs = panels.flatMap((panel) => (panel.targets ?? []).map((t) => t.expr ?? ''));

  it('imports with a Prometheus datasource input', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.__inputs).toContainEqual(
      expect.objectContaining({
        name: 'DS_PROMETHEUS',
        type: 'datasource',
        pluginId: 'prometheus',
      }),
    );
    for (const panel of panels) {
      expect(panel.datasource?.uid, panel.title).toBe(DATASOURCE);
      for (const target of panel.targets ?? []) {
        expect(target.datasource?.uid).toBe(DATASOURCE);
      }
    }
  });

  it('has the panels an operator needs', () => {
    const uses = (pattern: RegExp) => exprs.some((expr) => pattern.test(expr));
    expect(uses(/sum by \(outcome\) \(rate\(resilient_auth_attempts_total/)).toBe(true);
    for (const q of ['0.5', '0.95', '0.99']) {
      expect(
        uses(
          new RegExp(
            `histogram_quantile\\(${q}, .*resilient_auth_authenticate_duration_seconds_bucket`,
          ),
        ),
        q,
      ).toBe(true);
    }
    expect(uses(/by \(le, provider.*resilient_auth_provider_lookup_duration_seconds_bucket/)).toBe(
      true,
    );
    expect(uses(/by \(provider, kind\) \(rate\(resilient_auth_provider_failures_total/)).toBe(true);
    expect(uses(/resilient_auth_provider_state/)).toBe(true);
    expect(uses(/resilient_auth_serving/)).toBe(true);
    expect(uses(/rate\(resilient_auth_fallback_total/)).toBe(true);
  });

  it('uses only metric names that the registry really exposes', () => {
    const exposed = exposedNames(attachedRegistry());
    const used = [
      ...exprs.flatMap(metricNamesIn),
      ...dashboard.templating.list.flatMap((v) => metricNamesIn(v.query.query)),
    ];
    expect(used.length).toBeGreaterThanOrEqual(exprs.length);
    for (const name of used) expect(exposed, name).toContain(name);
  });
});
