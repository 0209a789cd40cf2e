import {
  type Attributes,
  context,
  type Meter,
  type MeterProvider as MeterProviderApi,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider as TracerProviderApi,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  type MetricData,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { describe, expect, it, vi } from 'vitest';
import {
  type AuthHooks,
  ConfigError,
  isAuthUnavailableError,
  type ResilientAuthOptions,
} from '../../src/index.js';
import { openTelemetryHooks } from '../../src/opentelemetry/index.js';
import { fakeHash, pgError, thrownBy } from '../support/fakes.js';
import { ADA, PASSWORD, twoProviders } from '../support/fixtures.js';

const login = { identifier: 'ada@example.com', password: PASSWORD };
const wrong = { identifier: 'ada@example.com', password: 'wrong password' };
const opensAtOnce = { breaker: { consecutiveFailures: 1 }, retry: { maxAttempts: 1 } };

/** A reader that exports only when asked: `await reader.collect()`. */
class ManualReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

/** The SDK with in-memory exporters, and an authenticator (two memory providers) instrumented by it. */
function instrumented(options: Partial<ResilientAuthOptions<typeof ADA>> = {}) {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const reader = new ManualReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const otel = openTelemetryHooks({ tracerProvider, meterProvider });
  const setup = twoProviders({ hooks: otel, ...options });
  const spans = () => exporter.getFinishedSpans();
  const named = (name: string) => spans().filter((span) => span.name === name);
  const parents = () => named('resilient_auth.authenticate');
  const lookups = () => named('resilient_auth.lookup');
  async function metric(name: string): Promise<MetricData | undefined> {
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    return resourceMetrics.scopeMetrics
      .flatMap((scope) => scope.metrics)
      .find((m) => m.descriptor.name === name);
  }
  /** `{ 'attr=value,...': value }` for a counter or gauge; count for a histogram. */
  async function points(name: string): Promise<Record<string, number>> {
    const data = await metric(name);
    return Object.fromEntries(
      ((data?.dataPoints ?? []) as DataPoint<number | Histogram>[]).map((point) => [
        key(point.attributes),
        typeof point.value === 'number' ? point.value : point.value.count,
      ]),
    );
  }
  return {
    ...setup,
    otel,
    tracerProvider,
    meterProvider,
    exporter,
    reader,
    spans,
    parents,
    lookups,
    metric,
    points,
  };
}

function key(attributes: Attributes): string {
  return Object.entries(attributes)
    .map(([k, v]) => `${k.replace('resilient_auth.', '')}=${String(v)}`)
    .sort()
    .join(',');
}

const ms = ([s, ns]: [number, number]) => s * 1000 + ns / 1e6;

/** Everything an exported span says, as plain data, for scans. */
function spanData(span: ReadableSpan) {
  return {
    name: span.name,
    attributes: span.attributes,
    status: span.status,
    events: span.events.map((e) => ({ name: e.name, attributes: e.attributes })),
    links: span.links,
  };
}

describe('openTelemetryHooks: traces', () => {
  it('makes one span per authenticate() with a child per lookup attempt, linked to it, and a fallback event', async () => {
    const t = instrumented();
    t.primary.fail(pgError('08006'));
    const result = await t.auth.authenticate(login);
    expect(result).toMatchObject({ ok: true, provider: 'fallback', degraded: true });

    const [parent, ...others] = t.parents();
    expect(others).toEqual([]);
    expect(parent?.kind).toBe(SpanKind.INTERNAL);
    expect(parent?.parentSpanContext).toBeUndefined();
    expect(parent?.attributes).toEqual({
      'resilient_auth.outcome': 'authenticated',
      'resilient_auth.provider': 'fallback',
      'resilient_auth.degraded': true,
    });
    expect(parent?.status.code).toBe(SpanStatusCode.UNSET);

    // The primary is retried once (08006 is transient), then the fallback answers.
    const children = t.lookups();
    expect(children.map((s) => s.attributes)).toEqual([
      {
        'resilient_auth.provider': 'primary',
        'resilient_auth.lookup.result': 'failed',
        'resilient_auth.lookup.attempt': 1,
        'error.type': 'connection',
        'resilient_auth.failure.code': '08006',
      },
      {
        'resilient_auth.provider': 'primary',
        'resilient_auth.lookup.result': 'failed',
        'resilient_auth.lookup.attempt': 2,
        'error.type': 'connection',
        'resilient_auth.failure.code': '08006',
      },
      {
        'resilient_auth.provider': 'fallback',
        'resilient_auth.lookup.result': 'found',
        'resilient_auth.lookup.attempt': 1,
      },
    ]);
    expect(children.map((s) => s.status.code)).toEqual([
      SpanStatusCode.ERROR,
      SpanStatusCode.ERROR,
      SpanStatusCode.UNSET,
    ]);
    expect(children[0]?.status.message).toBe('connection 08006');
    for (const child of children) {
      expect(child.kind).toBe(SpanKind.INTERNAL);
      expect(child.spanContext().traceId).toBe(parent?.spanContext().traceId);
      expect(child.parentSpanContext?.spanId).toBe(parent?.spanContext().spanId);
      // Within the parent's time (the SDK's clocks are millisecond-anchored: 1 ms of slack).
      expect(ms(child.startTime)).toBeGreaterThanOrEqual(ms(parent!.startTime) - 1);
      expect(ms(child.endTime)).toBeLessThanOrEqual(ms(parent!.endTime) + 1);
      expect(ms(child.endTime)).toBeGreaterThanOrEqual(ms(child.startTime));
    }
    // The second attempt started after the first ended and the backoff.
    expect(ms(children[1]!.startTime)).toBeGreaterThanOrEqual(ms(children[0]!.endTime) - 1);

    expect(parent?.events.map((e) => ({ name: e.name, attributes: e.attributes }))).toEqual([
      {
        name: 'resilient_auth.fallback',
        attributes: {
          'resilient_auth.provider': 'fallback',
          'resilient_auth.fallback.from': ['primary'],
        },
      },
    ]);
  });

  it('says what a rejection came to, with the precise cause on the span only', async () => {
    const t = instrumented({ throttle: { consecutive: { limit: 2 }, ip: false, account: false } });
    const context = { ip: '203.0.113.7' };
    await t.auth.authenticate({ ...wrong, context });
    await t.auth.authenticate({ identifier: 'nobody@example.com', password: PASSWORD, context });
    await t.auth.authenticate({ identifier: 'disabled@example.com', password: PASSWORD, context });
    await t.auth.authenticate({ identifier: '', password: PASSWORD, context });
    await t.auth.authenticate({ ...wrong, context });
    expect(await t.auth.authenticate({ ...login, context })).toMatchObject({
      ok: false,
      reason: 'rate_limited',
    });

    expect(t.parents().map((s) => s.attributes)).toEqual([
      {
        'resilient_auth.outcome': 'invalid_credentials',
        'resilient_auth.rejection.cause': 'wrong_password',
        'resilient_auth.provider': 'primary',
        'resilient_auth.degraded': false,
      },
      {
        'resilient_auth.outcome': 'invalid_credentials',
        'resilient_auth.rejection.cause': 'unknown_identifier',
        'resilient_auth.provider': 'primary',
        'resilient_auth.degraded': false,
      },
      {
        'resilient_auth.outcome': 'account_disabled',
        'resilient_auth.rejection.cause': 'account_disabled',
        'resilient_auth.provider': 'primary',
        'resilient_auth.degraded': false,
      },
      {
        'resilient_auth.outcome': 'invalid_input',
        'resilient_auth.rejection.cause': 'invalid_input',
        'resilient_auth.degraded': false,
      },
      {
        'resilient_auth.outcome': 'invalid_credentials',
        'resilient_auth.rejection.cause': 'wrong_password',
        'resilient_auth.provider': 'primary',
        'resilient_auth.degraded': false,
      },
      {
        'resilient_auth.outcome': 'rate_limited',
        'resilient_auth.rejection.cause': 'rate_limited',
        'resilient_auth.throttle.limit': 'consecutive',
        'resilient_auth.degraded': false,
      },
    ]);
    for (const parent of t.parents()) expect(parent.status.code).toBe(SpanStatusCode.UNSET);
    // Invalid input and the throttled call looked nothing up.
    expect(t.lookups().map((s) => s.attributes['resilient_auth.lookup.result'])).toEqual([
      'found',
      'not_found',
      'found',
      'found',
    ]);
  });

  it('records the outage on the span when unavailable: outcome, error.type, the exception, ERROR status', async () => {
    const t = instrumented();
    t.primary.fail(pgError('42P01'));
    t.fallback.fail(pgError('ECONNREFUSED'));
    const error = await t.auth.authenticate(login).catch((e: unknown) => e);
    expect(isAuthUnavailableError(error)).toBe(true);

    const [parent] = t.parents();
    const message =
      'authentication unavailable: primary: schema 42P01, fallback: connection ECONNREFUSED';
    expect(parent?.attributes).toEqual({
      'resilient_auth.outcome': 'unavailable',
      'error.type': 'connection',
    });
    expect(parent?.status).toEqual({ code: SpanStatusCode.ERROR, message });
    expect(parent?.events.map((e) => ({ name: e.name, attributes: e.attributes }))).toEqual([
      {
        name: 'exception',
        attributes: { 'exception.type': 'AuthUnavailableError', 'exception.message': message },
      },
    ]);
    // 42P01 is permanent: one attempt; ECONNREFUSED is retried once.
    expect(t.lookups().map((s) => key(s.attributes))).toEqual([
      'error.type=schema,failure.code=42P01,lookup.attempt=1,lookup.result=failed,provider=primary',
      'error.type=connection,failure.code=ECONNREFUSED,lookup.attempt=1,lookup.result=failed,provider=fallback',
      'error.type=connection,failure.code=ECONNREFUSED,lookup.attempt=2,lookup.result=failed,provider=fallback',
    ]);
  });

  it('shows providers skipped by an open breaker as events on the call span, not as child spans', async () => {
    const t = instrumented({ policy: opensAtOnce });
    t.primary.fail(pgError('08006'));
    await t.auth.authenticate(login); // opens the primary's breaker
    t.exporter.reset();

    expect(await t.auth.authenticate(login)).toMatchObject({ ok: true, provider: 'fallback' });
    expect(t.lookups().map((s) => s.attributes['resilient_auth.provider'])).toEqual(['fallback']);
    expect(t.parents()[0]?.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        'resilient_auth.provider.skipped',
        {
          'resilient_auth.provider': 'primary',
          'resilient_auth.skip.reason': 'circuit_open',
          'error.type': 'circuit_open',
        },
      ],
      [
        'resilient_auth.fallback',
        { 'resilient_auth.provider': 'fallback', 'resilient_auth.fallback.from': ['primary'] },
      ],
    ]);

    t.fallback.fail(pgError('08006'));
    t.exporter.reset();
    await expect(t.auth.authenticate(login)).rejects.toSatisfy(isAuthUnavailableError);
    const [parent] = t.parents();
    expect(parent?.events.map((e) => e.name)).toEqual([
      'resilient_auth.provider.skipped',
      'exception',
    ]);
    expect(parent?.status.message).toBe(
      'authentication unavailable: primary: skipped (circuit_open), fallback: connection 08006',
    );
  });

  it("nests under the caller's active span when a context manager is registered", async () => {
    const t = instrumented();
    const app = t.tracerProvider.getTracer('app');

    // Without a context manager there is no active span: the call span is a root.
    const outer = app.startSpan('POST /login');
    await context.with(trace.setSpan(context.active(), outer), () => t.auth.authenticate(login));
    outer.end();
    expect(t.parents()[0]?.parentSpanContext).toBeUndefined();
    t.exporter.reset();

    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      const request = app.startSpan('POST /login');
      await context.with(trace.setSpan(context.active(), request), () =>
        t.auth.authenticate(login),
      );
      request.end();
      const [parent] = t.parents();
      expect(parent?.spanContext().traceId).toBe(request.spanContext().traceId);
      expect(parent?.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
      expect(t.lookups()[0]?.parentSpanContext?.spanId).toBe(parent?.spanContext().spanId);
    } finally {
      context.disable();
    }
  });

  it('puts no identifier, password, hash, IP, user agent or error message in any span', async () => {
    const secrets = {
      identifier: 'ada@example.com',
      password: PASSWORD,
      hash: fakeHash(PASSWORD),
      ip: '203.0.113.7',
      userAgent: 'Mozilla/5.0 (SecretAgent)',
    };
    const requestContext = { ip: secrets.ip, userAgent: secrets.userAgent, requestId: 'req-42' };
    const t = instrumented({ policy: opensAtOnce });
    const asGiven = { ...login, context: requestContext };
    // An ORM error that quotes the query's parameters: the identifier, the hash.
    t.primary.fail(
      pgError('42703', `column "x" does not exist in WHERE email = '${secrets.identifier}'`),
    );
    await t.auth.authenticate(asGiven);
    await t.auth.authenticate({ ...wrong, context: requestContext });
    await t.auth.authenticate({ ...asGiven, identifier: 'nobody@example.com' });
    t.fallback.fail(pgError('08006', `password=${secrets.password} hash ${secrets.hash}`));
    await t.auth.authenticate(asGiven).catch(() => undefined);

    const exported = JSON.stringify(t.spans().map(spanData));
    const metrics = JSON.stringify((await t.reader.collect()).resourceMetrics);
    for (const [what, secret] of Object.entries(secrets)) {
      expect(exported, what).not.toContain(secret);
      expect(metrics, what).not.toContain(secret);
    }
    expect(exported).not.toContain('nobody@example.com');
    expect(exported).not.toContain('does not exist');
    // The request id is no secret, and joins the span to the app's logs: on the call span only.
    expect(t.parents().map((s) => s.attributes['resilient_auth.request_id'])).toEqual([
      'req-42',
      'req-42',
      'req-42',
      'req-42',
    ]);
    expect(metrics).not.toContain('req-42');
    expect(t.lookups().every((s) => !('resilient_auth.request_id' in s.attributes))).toBe(true);
  });
});

describe('openTelemetryHooks: metrics', () => {
  it('counts attempts and times calls by outcome, with error.type when unavailable', async () => {
    const t = instrumented();
    await t.auth.authenticate(login);
    await t.auth.authenticate(login);
    await t.auth.authenticate(wrong);
    await t.auth.authenticate({ identifier: 'x\u0000', password: PASSWORD });
    t.primary.fail(pgError('42703'));
    t.fallback.fail(pgError('42703'));
    await t.auth.authenticate(login).catch(() => undefined);

    const attempts = await t.metric('resilient_auth.attempts');
    expect(attempts?.descriptor).toMatchObject({ unit: '{attempt}' });
    expect(await t.points('resilient_auth.attempts')).toEqual({
      'outcome=authenticated': 2,
      'outcome=invalid_credentials': 1,
      'outcome=invalid_input': 1,
      'outcome=unavailable': 1,
    });

    const duration = await t.metric('resilient_auth.authenticate.duration');
    expect(duration?.descriptor).toMatchObject({ unit: 's' });
    expect(await t.points('resilient_auth.authenticate.duration')).toEqual({
      'outcome=authenticated': 2,
      'outcome=invalid_credentials': 1,
      'outcome=invalid_input': 1,
      'error.type=schema,outcome=unavailable': 1,
    });
    const [point] = (duration?.dataPoints ?? []) as DataPoint<Histogram>[];
    expect(point?.value.buckets.boundaries).toEqual([
      0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
    ]);
    // Seconds, not milliseconds: memory lookups and a fake verifier take well under a second.
    expect(point?.value.sum).toBeGreaterThanOrEqual(0);
    expect(point?.value.max).toBeLessThan(1);
  });

  it('counts hedged lookups, shadow mismatches and break-glass logins, from 0', async () => {
    const t = instrumented({ policy: { hedgeAfterMs: 5 } });
    expect(await t.points('resilient_auth.hedged_lookups')).toEqual({
      'provider=primary': 0,
      'provider=fallback': 0,
    });
    expect(await t.points('resilient_auth.emergency_logins')).toEqual({
      'result=granted': 0,
      'result=refused': 0,
    });
    t.primary.delay(50);
    await t.auth.authenticate(login);
    expect(await t.points('resilient_auth.hedged_lookups')).toEqual({
      'provider=primary': 0,
      'provider=fallback': 1,
    });
    const call = { id: 1 };
    const side = { outcome: 'authenticated', provider: 'primary' } as const;
    t.otel.onShadowMismatch({
      rollout: 'users-v2',
      identifier: 'ada@example.com',
      control: side,
      candidate: { ...side, outcome: 'invalid_credentials' },
      call,
      context: {},
    });
    t.otel.onEmergencyAccess({
      identifier: 'ops',
      granted: true,
      expiresAt: new Date(),
      failures: [],
      call,
      context: {},
    });
    t.otel.onEmergencyAccess({
      identifier: 'ops',
      granted: false,
      refusal: 'wrong_password',
      expiresAt: new Date(),
      failures: [],
      call,
      context: {},
    });
    expect(await t.points('resilient_auth.shadow_mismatches')).toEqual({ 'rollout=users-v2': 1 });
    expect(await t.points('resilient_auth.emergency_logins')).toEqual({
      'result=granted': 1,
      'result=refused': 1,
    });
  });

  it('times lookups per provider and result, and counts provider failures by kind and fallbacks', async () => {
    const t = instrumented();
    await t.auth.authenticate(login);
    await t.auth.authenticate({ identifier: 'nobody@example.com', password: PASSWORD });
    t.primary.fail(pgError('08006'), 2);
    await t.auth.authenticate(login);
    t.primary.fail(pgError('42P01'), 1);
    await t.auth.authenticate(login);

    const lookup = await t.metric('resilient_auth.provider.lookup.duration');
    expect(lookup?.descriptor).toMatchObject({ unit: 's' });
    expect(await t.points('resilient_auth.provider.lookup.duration')).toEqual({
      'provider=primary,result=found': 1,
      'provider=primary,result=not_found': 1,
      'provider=primary,result=failed': 3,
      'provider=fallback,result=found': 2,
    });
    expect(await t.points('resilient_auth.provider.failures')).toEqual({
      'error.type=connection,provider=primary': 2,
      'error.type=schema,provider=primary': 1,
    });
    expect(await t.points('resilient_auth.fallback')).toEqual({ 'provider=fallback': 2 });
  });

  it('reads each provider state one-hot from the breaker at collection time, and which provider serves', async () => {
    const t = instrumented({ policy: opensAtOnce });
    const states = async (provider: string) => {
      const all = await t.points('resilient_auth.provider.state');
      return Object.fromEntries(
        Object.entries(all)
          .filter(([k]) => k.includes(`provider=${provider}`))
          .map(([k, v]) => [k.replace(/provider=[^,]+,?/, '').replace('state=', ''), v]),
      );
    };
    expect(await states('primary')).toEqual({ closed: 1, open: 0, 'half-open': 0, isolated: 0 });
    expect(await t.points('resilient_auth.serving')).toEqual({
      'provider=primary': 0,
      'provider=fallback': 0,
    });

    await t.auth.authenticate(login);
    expect(await t.points('resilient_auth.serving')).toEqual({
      'provider=primary': 1,
      'provider=fallback': 0,
    });

    t.primary.fail(pgError('08006'));
    await t.auth.authenticate(login);
    expect(await states('primary')).toEqual({ closed: 0, open: 1, 'half-open': 0, isolated: 0 });
    expect(await states('fallback')).toEqual({ closed: 1, open: 0, 'half-open': 0, isolated: 0 });
    expect(await t.points('resilient_auth.serving')).toEqual({
      'provider=primary': 0,
      'provider=fallback': 1,
    });

    t.auth.isolate('primary');
    expect(await states('primary')).toEqual({ closed: 0, open: 0, 'half-open': 0, isolated: 1 });
    t.auth.reset('primary');
    t.primary.recover();
    expect(await states('primary')).toEqual({ closed: 1, open: 0, 'half-open': 0, isolated: 0 });

    // Nobody could answer: nobody serves.
    t.primary.fail(pgError('08006'));
    t.fallback.fail(pgError('08006'));
    await t.auth.authenticate(login).catch(() => undefined);
    expect(await t.points('resilient_auth.serving')).toEqual({
      'provider=primary': 0,
      'provider=fallback': 0,
    });
  });

  it('records durations in seconds: their sums fit within the wall time of the calls', async () => {
    const t = instrumented();
    const started = performance.now();
    await t.auth.authenticate(login);
    await t.auth.authenticate(wrong);
    const wallS = (performance.now() - started) / 1000;
    for (const name of [
      'resilient_auth.authenticate.duration',
      'resilient_auth.provider.lookup.duration',
    ]) {
      const points = ((await t.metric(name))?.dataPoints ?? []) as DataPoint<Histogram>[];
      const sum = points.reduce((total, point) => total + (point.value.sum ?? 0), 0);
      expect(sum, name).toBeGreaterThan(0);
      expect(sum, name).toBeLessThanOrEqual(wallS);
    }
  });

  it('leaves who serves unchanged after a call that reached no provider (invalid input)', async () => {
    const t = instrumented();
    await t.auth.authenticate(login);
    await t.auth.authenticate({ identifier: '', password: PASSWORD });
    expect(await t.points('resilient_auth.serving')).toEqual({
      'provider=primary': 1,
      'provider=fallback': 0,
    });
  });

  it('leaves who serves unchanged when only the password check failed', async () => {
    const t = instrumented();
    await t.auth.authenticate(login);
    t.verifier.verify = async () => {
      throw new Error('worker crashed');
    };
    await expect(t.auth.authenticate(login)).rejects.toSatisfy(isAuthUnavailableError);
    expect(await t.points('resilient_auth.serving')).toEqual({
      'provider=primary': 1,
      'provider=fallback': 0,
    });
    expect(await t.points('resilient_auth.authenticate.duration')).toMatchObject({
      'error.type=other,outcome=unavailable': 1,
    });
  });

  it('stops observing on auth.close(), and refuses to serve a second authenticator', async () => {
    const t = instrumented();
    expect(Object.keys(await t.points('resilient_auth.provider.state'))).toHaveLength(8);
    expect(thrownBy(() => twoProviders({ hooks: t.otel }))).toMatchObject({
      name: 'ConfigError',
      message: expect.stringContaining('already attached to an authenticator'),
    });
    // The SDK hands the same meter to the same scope name: spy on what close() does to it.
    const meter = t.meterProvider.getMeter('resilient-auth');
    const removed = vi.spyOn(meter, 'removeBatchObservableCallback');
    await t.auth.close();
    expect(removed).toHaveBeenCalledTimes(1);
    expect(removed.mock.calls[0]?.[1]).toHaveLength(3);
    // The SDK keeps reporting a cumulative gauge's last values: what shows that the
    // callback is gone is that a change of state after close() is not read.
    t.auth.isolate('primary');
    expect(await t.points('resilient_auth.provider.state')).toMatchObject({
      'provider=primary,state=closed': 1,
      'provider=primary,state=isolated': 0,
    });
  });
});

/** A tracer provider whose tracer throws on every span. */
const throwingTracerProvider: TracerProviderApi = {
  getTracer: () =>
    ({
      startSpan: () => {
        throw new Error('tracer down');
      },
      startActiveSpan: () => {
        throw new Error('tracer down');
      },
    }) as Tracer,
};

/** A meter provider whose instruments throw on every measurement. */
const throwingMeterProvider: MeterProviderApi = {
  getMeter: () => {
    const broken = () => {
      throw new Error('meter down');
    };
    const instrument = { add: broken, record: broken, addCallback: broken, removeCallback: broken };
    return {
      createCounter: () => instrument,
      createHistogram: () => instrument,
      createGauge: () => instrument,
      createUpDownCounter: () => instrument,
      createObservableGauge: () => instrument,
      createObservableCounter: () => instrument,
      createObservableUpDownCounter: () => instrument,
      addBatchObservableCallback: broken,
      removeBatchObservableCallback: broken,
    } as unknown as Meter;
  },
};

/** The same, except that the gauges' callback registers: it throws on measurements only. */
const throwingMeasurementsProvider: MeterProviderApi = {
  getMeter: (name) => ({
    ...throwingMeterProvider.getMeter(name),
    addBatchObservableCallback: () => undefined,
    removeBatchObservableCallback: () => undefined,
  }),
};

describe('openTelemetryHooks: bad input', () => {
  it('never changes a login when the tracer and the meter throw: the errors are logged', async () => {
    const hooks = openTelemetryHooks({
      tracerProvider: throwingTracerProvider,
      meterProvider: throwingMeasurementsProvider,
    });
    const { auth, primary, fallback, logger } = twoProviders({ hooks });
    expect(await auth.authenticate(login)).toMatchObject({ ok: true, user: ADA });
    expect(await auth.authenticate(wrong)).toEqual({ ok: false, reason: 'invalid_credentials' });
    primary.fail(pgError('08006'));
    expect(await auth.authenticate(login)).toMatchObject({ ok: true, provider: 'fallback' });
    fallback.fail(pgError('08006'));
    await expect(auth.authenticate(login)).rejects.toSatisfy(isAuthUnavailableError);
    const failed = new Set(logger.lines.map((l) => l.message));
    expect(failed).toEqual(
      new Set(
        ['onAttemptStart', 'onLookup', 'onFallback', 'onAttempt', 'onUnavailable'].map(
          (hook) => `hook ${hook} (hook set #0) failed; login unaffected`,
        ),
      ),
    );
    expect(logger.lines.every((l) => l.level === 'error')).toBe(true);
  });

  it('fails the creation, not a login, when the meter cannot register the gauges', () => {
    const hooks = openTelemetryHooks({ meterProvider: throwingMeterProvider });
    expect(thrownBy(() => twoProviders({ hooks }))).toMatchObject({
      name: 'ConfigError',
      option: 'hooks',
      message: expect.stringContaining('meter down'),
    });
  });

  it('keeps counting when ending a span throws, and tracing when the meter throws', async () => {
    const reader = new ManualReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    // A span processor that throws makes the SDK's span.end() throw.
    const throwingOnEnd: SpanProcessor = {
      onStart: () => undefined,
      onEnd: () => {
        throw new Error('exporter down');
      },
      forceFlush: async () => undefined,
      shutdown: async () => undefined,
    };
    const brokenTracer = twoProviders({
      hooks: openTelemetryHooks({
        tracerProvider: new BasicTracerProvider({ spanProcessors: [throwingOnEnd] }),
        meterProvider,
      }),
    });
    brokenTracer.primary.fail(pgError('08006'), 1);
    expect(await brokenTracer.auth.authenticate(login)).toMatchObject({ ok: true });
    const { resourceMetrics } = await reader.collect();
    const metric = (name: string) =>
      resourceMetrics.scopeMetrics
        .flatMap((s) => s.metrics)
        .find((m) => m.descriptor.name === name)
        ?.dataPoints.map((p) => [key(p.attributes), p.value]);
    expect(metric('resilient_auth.attempts')).toEqual([['outcome=authenticated', 1]]);
    expect(metric('resilient_auth.provider.failures')).toEqual([
      ['error.type=connection,provider=primary', 1],
    ]);
    expect(brokenTracer.logger.lines.map((l) => (l.meta as { hook: string }).hook)).toEqual([
      'onLookup',
      'onLookup',
      'onAttempt',
    ]);

    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const brokenMeter = twoProviders({
      hooks: openTelemetryHooks({ tracerProvider, meterProvider: throwingMeasurementsProvider }),
    });
    brokenMeter.primary.fail(pgError('08006'));
    expect(await brokenMeter.auth.authenticate(login)).toMatchObject({ ok: true });
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual([
      'resilient_auth.lookup',
      'resilient_auth.lookup',
      'resilient_auth.lookup',
      'resilient_auth.authenticate',
    ]);
    expect(brokenMeter.logger.lines.map((l) => (l.meta as { hook: string }).hook)).toEqual([
      'onLookup',
      'onLookup',
      'onLookup',
      'onFallback',
      'onAttempt',
    ]);
  });

  it("costs nothing and breaks nothing with the API's no-op providers or a sampler that drops everything", async () => {
    const noop = twoProviders({ hooks: openTelemetryHooks() });
    expect(await noop.auth.authenticate(login)).toMatchObject({ ok: true });
    noop.primary.fail(pgError('08006'));
    noop.fallback.fail(pgError('08006'));
    await expect(noop.auth.authenticate(login)).rejects.toSatisfy(isAuthUnavailableError);
    await noop.auth.close();
    expect(noop.logger.lines).toEqual([]);

    const exporter = new InMemorySpanExporter();
    const sampledOut = twoProviders({
      hooks: openTelemetryHooks({
        tracerProvider: new BasicTracerProvider({
          sampler: new AlwaysOffSampler(),
          spanProcessors: [new SimpleSpanProcessor(exporter)],
        }),
      }),
    });
    sampledOut.primary.fail(pgError('08006'));
    expect(await sampledOut.auth.authenticate(login)).toMatchObject({ ok: true });
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(sampledOut.logger.lines).toEqual([]);
  });

  it('refuses bad options with a ConfigError naming the option', () => {
    const bad: [unknown, string, string][] = [
      [{ tracerProvider: {} }, 'openTelemetryHooks.tracerProvider', 'getTracer()'],
      [{ tracerProvider: trace.getTracer('x') }, 'openTelemetryHooks.tracerProvider', 'getTracer'],
      [{ meterProvider: 'global' }, 'openTelemetryHooks.meterProvider', 'getMeter()'],
      [{ meterProvider: null }, 'openTelemetryHooks.meterProvider', 'MeterProvider'],
      [{ tracer: trace.getTracer('x') }, 'openTelemetryHooks', 'tracer'],
      ['tracing', 'openTelemetryHooks', 'object'],
    ];
    for (const [options, option, message] of bad) {
      const error = thrownBy(() => openTelemetryHooks(options as never));
      expect(error, JSON.stringify(options)).toBeInstanceOf(ConfigError);
      expect(error).toMatchObject({ option, message: expect.stringContaining(message) });
    }
    const hooks: AuthHooks = openTelemetryHooks({});
    expect(Object.isFrozen(hooks)).toBe(true);
    expect(Object.isFrozen(openTelemetryHooks(undefined))).toBe(true);
  });
});
