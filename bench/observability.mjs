// What the metrics and tracing hook sets cost per login, in-process and side by
// side: no hooks, the Prometheus hook set on a real registry, the OpenTelemetry
// hook set on the API's no-op providers (installed, tracing off), and on the
// SDK (spans and metrics recorded, spans handed to an exporter that drops
// them); and a Prometheus backend whose every write throws, to show that a
// failing backend does not slow a login.
import { performance } from 'node:perf_hooks';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { createResilientAuth, memoryProvider } from '../dist/index.js';
import { openTelemetryHooks } from '../dist/opentelemetry.js';
import { prometheusHooks } from '../dist/prometheus.js';

const IDENTIFIER = 'ada@example.com';
const PASSWORD = 'correct horse';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n, digits = 2) => n.toFixed(digits);
const QUIET_LOGGER = { warn: () => undefined, error: () => undefined };

/** One in-memory account behind a primary and a fallback, a constant-cost verifier (see core.mjs). */
function benchAuth(hooks) {
  const accounts = [{ identifier: IDENTIFIER, passwordHash: `fake$${PASSWORD}`, user: { id: 1 } }];
  return createResilientAuth({
    providers: [
      memoryProvider({ name: 'primary', accounts }),
      memoryProvider({ name: 'fallback', accounts }),
    ],
    verifier: {
      isWellFormed: (h) => h.startsWith('fake$'),
      dummyHash: () => 'fake$\0',
      verify: async (p, h) => h === `fake$${p}`,
    },
    hooks,
    logger: QUIET_LOGGER,
  });
}

/** An authenticator with the Prometheus hook set whose every metric write throws, once it is built. */
function withThrowingMetrics() {
  const registry = new Registry();
  const auth = benchAuth([prometheusHooks({ registry })]);
  for (const metric of registry.getMetricsAsArray()) {
    for (const method of ['inc', 'observe', 'set']) {
      if (typeof metric[method] === 'function') {
        metric[method] = () => {
          throw new Error('metrics backend down');
        };
      }
    }
  }
  return auth;
}

function contenders() {
  const dropSpans = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(dropSpans)],
  });
  const meterProvider = new MeterProvider();
  return {
    'no hooks': benchAuth([]),
    'prometheusHooks()': benchAuth([prometheusHooks({ registry: new Registry() })]),
    'openTelemetryHooks(), tracing off': benchAuth([openTelemetryHooks()]),
    'openTelemetryHooks(), SDK recording': benchAuth([
      openTelemetryHooks({ tracerProvider, meterProvider }),
    ]),
    'prometheusHooks(), every write throws': withThrowingMetrics(),
  };
}

/** Per-login cost of each hook set, printed against no hooks at all. */
export async function runObservabilityBenchmarks({ quick = false } = {}) {
  const rounds = quick ? 2 : 7;
  const n = quick ? 2_000 : 20_000;
  const auths = contenders();
  const names = Object.keys(auths);
  const samples = new Map(names.map((name) => [name, []]));
  const login = { identifier: IDENTIFIER, password: PASSWORD };
  // Round -1 warms up; then the order alternates, so no contender always goes first.
  for (let round = -1; round < rounds; round++) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) {
      const auth = auths[name];
      const start = performance.now();
      for (let i = 0; i < n; i++) {
        const result = await auth.authenticate(login);
        if (!result.ok) throw new Error(`${name}: login refused`);
      }
      if (round >= 0) samples.get(name).push(((performance.now() - start) * 1000) / n);
    }
  }
  await Promise.all(Object.values(auths).map((auth) => auth.close()));
  const base = median(samples.get('no hooks'));
  console.log(
    `\nObservability hook sets, cost per login (memory provider, constant-cost verifier; median of ${rounds} interleaved rounds of ${n} logins)`,
  );
  for (const name of names) {
    const us = median(samples.get(name));
    const added = name === 'no hooks' ? '' : `: ${fmt(us - base)} µs added (${fmt(us / base)}x)`;
    console.log(`    ${name.padEnd(40)} ${fmt(us)} µs/login${added}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runObservabilityBenchmarks({ quick: process.env.BENCH_QUICK === '1' });
}
