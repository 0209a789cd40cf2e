import {
  type Counter,
  Gauge,
  register as globalRegister,
  type Histogram,
  Registry,
} from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import {
  ATTEMPT_OUTCOMES,
  bcryptVerifier,
  ConfigError,
  createResilientAuth,
  emergencyProvider,
  hashPassword,
  isAuthUnavailableError,
  memoryProvider,
  rollout,
} from '../../src/index.js';
import { prometheusHooks } from '../../src/prometheus/index.js';
import {
  fakeHash,
  pgError,
  recordingLogger,
  recordingVerifier,
  thrownBy,
} from '../support/fakes.js';
import { accounts, holdLookups, PASSWORD, twoProviders } from '../support/fixtures.js';

const ip = '203.0.113.7';
const login = { identifier: 'ada@example.com', password: PASSWORD, context: { ip } };
const opensAtOnce = {
  breaker: { consecutiveFailures: 1 },
  retry: { maxAttempts: 1 },
  halfOpenAfterMs: 1000,
};

/** What a scrape of `registry` shows, one exposition line per entry. */
async function scrape(registry: Registry): Promise<string[]> {
  return (await registry.metrics()).split('\n');
}

/** An authenticator (primary, fallback) reporting to a fresh registry. */
function withMetrics(options: Parameters<typeof twoProviders>[0] = {}) {
  const registry = new Registry();
  const metrics = prometheusHooks({ registry });
  return { registry, metrics, ...twoProviders({ hooks: metrics, ...options }) };
}

async function unavailable(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isAuthUnavailableError(error)).toBe(true);
}

describe('prometheusHooks: series from the first scrape', () => {
  it('shows every outcome at 0, each provider closed and not serving, no histogram sample yet', async () => {
    const { registry } = withMetrics();
    const lines = await scrape(registry);
    for (const outcome of ATTEMPT_OUTCOMES) {
      expect(lines).toContain(`resilient_auth_attempts_total{outcome="${outcome}"} 0`);
    }
    expect(lines).toEqual(
      expect.arrayContaining([
        'resilient_auth_fallback_total{provider="primary"} 0',
        'resilient_auth_fallback_total{provider="fallback"} 0',
        'resilient_auth_serving{provider="primary"} 0',
        'resilient_auth_serving{provider="fallback"} 0',
        'resilient_auth_provider_state{provider="primary",state="closed"} 1',
        'resilient_auth_provider_state{provider="primary",state="open"} 0',
        'resilient_auth_provider_state{provider="primary",state="half-open"} 0',
        'resilient_auth_provider_state{provider="primary",state="isolated"} 0',
        'resilient_auth_provider_state{provider="fallback",state="closed"} 1',
        '# TYPE resilient_auth_authenticate_duration_seconds histogram',
        '# TYPE resilient_auth_provider_lookup_duration_seconds histogram',
        '# TYPE resilient_auth_provider_failures_total counter',
        '# TYPE resilient_auth_provider_state gauge',
        '# TYPE resilient_auth_serving gauge',
      ]),
    );
    expect(lines.filter((l) => l.includes('_bucket{'))).toEqual([]);
  });

  it('registers nothing on the global register, and no default metrics', async () => {
    const { registry } = withMetrics();
    expect(globalRegister.getSingleMetric('resilient_auth_attempts_total')).toBeUndefined();
    expect(
      registry
        .getMetricsAsArray()
        .map((m) => m.name)
        .sort(),
    ).toEqual([
      'resilient_auth_attempts_total',
      'resilient_auth_authenticate_duration_seconds',
      'resilient_auth_emergency_logins_total',
      'resilient_auth_fallback_total',
      'resilient_auth_hedged_lookups_total',
      'resilient_auth_provider_failures_total',
      'resilient_auth_provider_lookup_duration_seconds',
      'resilient_auth_provider_state',
      'resilient_auth_rollout_rolled_back',
      'resilient_auth_serving',
      'resilient_auth_shadow_mismatches_total',
    ]);
  });
});

describe('prometheusHooks: what each login counts', () => {
  it('counts each outcome in attempts_total and authenticate_duration_seconds', async () => {
    const registry = new Registry();
    const clockStart = Date.UTC(2026, 0, 1);
    const primary = memoryProvider({
      name: 'primary',
      accounts: [
        ...accounts,
        {
          identifier: 'locked@example.com',
          passwordHash: fakeHash(PASSWORD),
          user: { id: 4, email: 'locked@example.com' },
          lockedUntil: new Date(clockStart + 60_000),
        },
        {
          identifier: 'broken@example.com',
          passwordHash: 'not a hash',
          user: { id: 5, email: 'broken@example.com' },
        },
      ],
    });
    const { auth } = twoProviders({
      providers: [primary],
      hooks: prometheusHooks({ registry }),
      throttle: { consecutive: { limit: 3 }, ip: false, account: false },
    });
    const as = (identifier: string, password = PASSWORD) =>
      auth.authenticate({ identifier, password, context: { ip } });

    expect(await as('ada@example.com')).toMatchObject({ ok: true });
    expect(await as('ada@example.com', 'wrong')).toMatchObject({ reason: 'invalid_credentials' });
    expect(await as('nobody@example.com')).toMatchObject({ reason: 'invalid_credentials' });
    expect(await as('broken@example.com')).toMatchObject({ reason: 'invalid_credentials' });
    expect(await as('disabled@example.com')).toMatchObject({ reason: 'account_disabled' });
    expect(await as('locked@example.com')).toMatchObject({ reason: 'account_locked' });
    expect(await as('')).toMatchObject({ reason: 'invalid_input' });
    for (let i = 0; i < 3; i++) await as('rotate@example.com', 'wrong');
    expect(await as('rotate@example.com')).toMatchObject({ reason: 'rate_limited' });

    const lines = await scrape(registry);
    expect(lines).toEqual(
      expect.arrayContaining([
        'resilient_auth_attempts_total{outcome="authenticated"} 1',
        'resilient_auth_attempts_total{outcome="invalid_credentials"} 6',
        'resilient_auth_attempts_total{outcome="account_disabled"} 1',
        'resilient_auth_attempts_total{outcome="account_locked"} 1',
        'resilient_auth_attempts_total{outcome="invalid_input"} 1',
        'resilient_auth_attempts_total{outcome="rate_limited"} 1',
        'resilient_auth_attempts_total{outcome="unavailable"} 0',
        'resilient_auth_authenticate_duration_seconds_count{outcome="authenticated"} 1',
        'resilient_auth_authenticate_duration_seconds_count{outcome="invalid_credentials"} 6',
        'resilient_auth_authenticate_duration_seconds_count{outcome="rate_limited"} 1',
        'resilient_auth_authenticate_duration_seconds_bucket{le="+Inf",outcome="authenticated"} 1',
        'resilient_auth_serving{provider="primary"} 1',
      ]),
    );
  });

  it('observes durations in seconds, not milliseconds', async () => {
    const { auth, primary, registry } = withMetrics();
    primary.delay(30);
    await auth.authenticate(login);
    const sum = (await scrape(registry)).find((l) =>
      l.startsWith('resilient_auth_authenticate_duration_seconds_sum{outcome="authenticated"}'),
    );
    const seconds = Number(sum?.split(' ')[1]);
    expect(seconds).toBeGreaterThanOrEqual(0.025);
    expect(seconds).toBeLessThan(2);
    const lookup = (await scrape(registry)).find((l) =>
      l.startsWith(
        'resilient_auth_provider_lookup_duration_seconds_sum{provider="primary",result="found"}',
      ),
    );
    expect(Number(lookup?.split(' ')[1])).toBeGreaterThanOrEqual(0.025);
    expect(Number(lookup?.split(' ')[1])).toBeLessThan(2);
  });

  it('a fallback answer: fallback_total, serving, failures by kind and lookups by result', async () => {
    const { auth, primary, registry } = withMetrics({ policy: { retry: { baseDelayMs: 1 } } });
    await auth.authenticate(login);
    expect(await scrape(registry)).toEqual(
      expect.arrayContaining([
        'resilient_auth_serving{provider="primary"} 1',
        'resilient_auth_serving{provider="fallback"} 0',
      ]),
    );

    primary.fail(pgError('08006'));
    expect(await auth.authenticate(login)).toMatchObject({ ok: true, provider: 'fallback' });
    primary.fail(pgError('42703', 'column "must_change_password" does not exist'));
    expect(await auth.authenticate({ ...login, password: 'wrong' })).toEqual({
      ok: false,
      reason: 'invalid_credentials',
    });

    expect(await scrape(registry)).toEqual(
      expect.arrayContaining([
        'resilient_auth_fallback_total{provider="fallback"} 2',
        'resilient_auth_fallback_total{provider="primary"} 0',
        'resilient_auth_serving{provider="primary"} 0',
        'resilient_auth_serving{provider="fallback"} 1',
        // 08006 is transient: retried once, two failed attempts; 42703 is not retried.
        'resilient_auth_provider_failures_total{provider="primary",kind="connection"} 2',
        'resilient_auth_provider_failures_total{provider="primary",kind="schema"} 1',
        'resilient_auth_provider_lookup_duration_seconds_count{provider="primary",result="found"} 1',
        'resilient_auth_provider_lookup_duration_seconds_count{provider="primary",result="failed"} 3',
        'resilient_auth_provider_lookup_duration_seconds_count{provider="fallback",result="found"} 2',
        'resilient_auth_attempts_total{outcome="authenticated"} 2',
        'resilient_auth_attempts_total{outcome="invalid_credentials"} 1',
      ]),
    );

    primary.recover();
    await auth.authenticate({ ...login, identifier: 'nobody@example.com' });
    expect(await scrape(registry)).toEqual(
      expect.arrayContaining([
        'resilient_auth_serving{provider="primary"} 1',
        'resilient_auth_serving{provider="fallback"} 0',
        'resilient_auth_provider_lookup_duration_seconds_count{provider="primary",result="not_found"} 1',
      ]),
    );
  });

  it('unavailable: counted and timed, and no provider serving', async () => {
    const { auth, primary, fallback, registry } = withMetrics({
      policy: { retry: { maxAttempts: 1 } },
    });
    await auth.authenticate(login);
    primary.fail(pgError('08006'));
    fallback.fail(pgError('57P01'));
    await unavailable(auth.authenticate(login));
    expect(await scrape(registry)).toEqual(
      expect.arrayContaining([
        'resilient_auth_attempts_total{outcome="unavailable"} 1',
        'resilient_auth_authenticate_duration_seconds_count{outcome="unavailable"} 1',
        'resilient_auth_serving{provider="primary"} 0',
        'resilient_auth_serving{provider="fallback"} 0',
        'resilient_auth_provider_failures_total{provider="primary",kind="connection"} 1',
        'resilient_auth_provider_failures_total{provider="fallback",kind="connection"} 1',
        'resilient_auth_fallback_total{provider="fallback"} 0',
      ]),
    );
  });

  it('a password check that failed after the lookup answered leaves who serves unchanged', async () => {
    const { auth, verifier, registry } = withMetrics();
    await auth.authenticate(login);
    verifier.verify = async () => {
      throw new Error('worker crashed');
    };
    await unavailable(auth.authenticate(login));
    expect(await scrape(registry)).toEqual(
      expect.arrayContaining([
        'resilient_auth_attempts_total{outcome="unavailable"} 1',
        'resilient_auth_serving{provider="primary"} 1',
        'resilient_auth_serving{provider="fallback"} 0',
      ]),
    );
  });
});

describe('prometheusHooks: safe change', () => {
  it('counts hedged lookups, shadow mismatches and break-glass logins, and shows a rolled-back rollout', async () => {
    const registry = new Registry();
    // Real bcrypt hashes (cost 4): break-glass needs a verifier that checks bcrypt.
    const ada = { identifier: 'ada@example.com', password: PASSWORD, user: { id: 1 } };
    const control = memoryProvider({ name: 'control', accounts: [ada], hashCost: 4 });
    const slowFallback = memoryProvider({ name: 'control-sql', accounts: [ada], hashCost: 4 });
    // The candidate knows Ada with another password: every comparison disagrees.
    const candidate = memoryProvider({
      name: 'candidate',
      accounts: [{ ...ada, password: 'another password' }],
      hashCost: 4,
    });
    const auth = createResilientAuth({
      providers: rollout({
        name: 'users-v2',
        control: [{ provider: control, policy: { hedgeAfterMs: 5 } }, slowFallback],
        candidate: [candidate],
        percent: 100,
        shadow: true,
        rollback: { minimumCalls: 2 },
      }),
      emergency: emergencyProvider({
        accounts: [{ identifier: 'ops', passwordHash: await hashPassword('break glass', 10) }],
        expiresAt: new Date(Date.now() + 60_000),
        user: () => ({ id: 0 }),
      }),
      verifier: bcryptVerifier({ threads: 0, cost: 4 }),
      hooks: prometheusHooks({ registry }),
      logger: recordingLogger(),
    });
    const first = await scrape(registry);
    for (const line of [
      'resilient_auth_hedged_lookups_total{provider="control-sql"} 0',
      'resilient_auth_shadow_mismatches_total{rollout="users-v2"} 0',
      'resilient_auth_rollout_rolled_back{rollout="users-v2"} 0',
      'resilient_auth_emergency_logins_total{result="granted"} 0',
      'resilient_auth_emergency_logins_total{result="refused"} 0',
    ]) {
      expect(first).toContain(line);
    }

    // The control's primary is slow: the hedge asks its fallback, once per login.
    control.delay(50);
    for (let i = 0; i < 2; i++) {
      await auth.authenticate({ identifier: ada.identifier, password: PASSWORD });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Two shadow comparisons that disagreed: over the mismatch rate, rolled back.
    expect(await scrape(registry)).toEqual(
      expect.arrayContaining([
        'resilient_auth_hedged_lookups_total{provider="control-sql"} 2',
        'resilient_auth_shadow_mismatches_total{rollout="users-v2"} 2',
        'resilient_auth_rollout_rolled_back{rollout="users-v2"} 1',
      ]),
    );
    // Every provider down: break-glass, granted then refused.
    control.fail(pgError('57P01'));
    slowFallback.fail(pgError('57P01'));
    await auth.authenticate({ identifier: 'ops', password: 'break glass' });
    await unavailable(auth.authenticate({ identifier: 'ops', password: 'guess' }));

    const lines = await scrape(registry);
    expect(lines).toContain('resilient_auth_emergency_logins_total{result="granted"} 1');
    expect(lines).toContain('resilient_auth_emergency_logins_total{result="refused"} 1');
    auth.resumeRollout('users-v2');
    expect(await scrape(registry)).toContain(
      'resilient_auth_rollout_rolled_back{rollout="users-v2"} 0',
    );
    await auth.close();
  });
});

describe('prometheusHooks: provider_state at scrape time', () => {
  const stateOf = async (registry: Registry, provider: string) =>
    (await registry.getSingleMetricAsString('resilient_auth_provider_state'))
      .split('\n')
      .filter((l) => l.startsWith(`resilient_auth_provider_state{provider="${provider}"`));

  it('follows the breaker: open, half-open during the trial, closed after it, isolated by hand', async () => {
    const { auth, primary, clock, registry } = withMetrics({ policy: opensAtOnce });
    primary.fail(pgError('08006'), 1);
    await auth.authenticate(login);
    expect(await stateOf(registry, 'primary')).toEqual([
      'resilient_auth_provider_state{provider="primary",state="closed"} 0',
      'resilient_auth_provider_state{provider="primary",state="open"} 1',
      'resilient_auth_provider_state{provider="primary",state="half-open"} 0',
      'resilient_auth_provider_state{provider="primary",state="isolated"} 0',
    ]);

    clock.advance(1000);
    const held = holdLookups(primary);
    const trial = auth.authenticate(login);
    await vi.waitFor(() => expect(auth.health().providers[0]?.state).toBe('half-open'));
    expect(await stateOf(registry, 'primary')).toContain(
      'resilient_auth_provider_state{provider="primary",state="half-open"} 1',
    );
    held.release();
    await trial;
    expect(await stateOf(registry, 'primary')).toEqual([
      'resilient_auth_provider_state{provider="primary",state="closed"} 1',
      'resilient_auth_provider_state{provider="primary",state="open"} 0',
      'resilient_auth_provider_state{provider="primary",state="half-open"} 0',
      'resilient_auth_provider_state{provider="primary",state="isolated"} 0',
    ]);

    auth.isolate('fallback');
    expect(await stateOf(registry, 'fallback')).toEqual([
      'resilient_auth_provider_state{provider="fallback",state="closed"} 0',
      'resilient_auth_provider_state{provider="fallback",state="open"} 0',
      'resilient_auth_provider_state{provider="fallback",state="half-open"} 0',
      'resilient_auth_provider_state{provider="fallback",state="isolated"} 1',
    ]);
  });

  it('a closed authenticator is no longer reported', async () => {
    const { auth, registry } = withMetrics();
    await auth.authenticate(login);
    await auth.close();
    const lines = await scrape(registry);
    expect(lines.filter((l) => l.startsWith('resilient_auth_provider_state{'))).toEqual([]);
    expect(lines.filter((l) => l.startsWith('resilient_auth_serving{'))).toEqual([]);
    expect(lines).toContain('resilient_auth_attempts_total{outcome="authenticated"} 1');
  });
});

describe('prometheusHooks: no secret or personal data in the exposition', () => {
  it('shows no identifier, IP, password or failure message, whatever happened', async () => {
    const { auth, primary, fallback, registry } = withMetrics({
      policy: { retry: { maxAttempts: 1 } },
    });
    const secretMessage = 'connect to postgres://app:s3cr3t@db.internal:5432 xyzzy-refused';
    await auth.authenticate(login);
    await auth.authenticate({ ...login, password: 'hunter2-wrong' });
    await auth.authenticate({ ...login, identifier: 'ghost@example.org' });
    primary.fail(pgError('08006', secretMessage));
    await auth.authenticate(login);
    fallback.fail(pgError('42P01', secretMessage));
    await unavailable(auth.authenticate(login));
    const text = await registry.metrics();
    for (const secret of [
      'ada@example.com',
      'ghost@example.org',
      'example',
      ip,
      PASSWORD,
      'hunter2',
      's3cr3t',
      'db.internal',
      'xyzzy',
      '08006',
      '42P01',
    ]) {
      expect(text).not.toContain(secret);
    }
    const labelNames = new Set(
      [...text.matchAll(/[{,]([a-z_]+)="/g)].map((match) => match[1] ?? ''),
    );
    expect([...labelNames].sort()).toEqual([
      'kind',
      'le',
      'outcome',
      'provider',
      'result',
      'state',
    ]);
  });
});

describe('prometheusHooks: one registry, several hook sets', () => {
  it('a second call on the same registry reuses the metrics: counts add up, states are counted per authenticator', async () => {
    const registry = new Registry();
    const first = twoProviders({ hooks: prometheusHooks({ registry }) });
    const second = twoProviders({ hooks: prometheusHooks({ registry }) });
    await first.auth.authenticate(login);
    await second.auth.authenticate(login);
    second.auth.isolate('primary');
    expect(await scrape(registry)).toEqual(
      expect.arrayContaining([
        'resilient_auth_attempts_total{outcome="authenticated"} 2',
        'resilient_auth_serving{provider="primary"} 2',
        'resilient_auth_provider_state{provider="primary",state="closed"} 1',
        'resilient_auth_provider_state{provider="primary",state="isolated"} 1',
        'resilient_auth_provider_state{provider="fallback",state="closed"} 2',
      ]),
    );
    await second.auth.close();
    expect(await scrape(registry)).toEqual(
      expect.arrayContaining([
        'resilient_auth_serving{provider="primary"} 1',
        'resilient_auth_provider_state{provider="primary",state="closed"} 1',
        'resilient_auth_provider_state{provider="primary",state="isolated"} 0',
      ]),
    );
  });

  it('a second copy of the module (a dev server re-importing it) reuses them too', async () => {
    const registry = new Registry();
    const first = twoProviders({ hooks: prometheusHooks({ registry }) });
    vi.resetModules();
    const copy = await import('../../src/prometheus/index.js');
    expect(copy.prometheusHooks).not.toBe(prometheusHooks);
    const second = twoProviders({ hooks: copy.prometheusHooks({ registry }) });
    await first.auth.authenticate(login);
    await second.auth.authenticate(login);
    expect(await scrape(registry)).toContain(
      'resilient_auth_attempts_total{outcome="authenticated"} 2',
    );
  });

  it('another prefix on the same registry gets metrics of its own', async () => {
    const registry = new Registry();
    twoProviders({ hooks: prometheusHooks({ registry }) });
    const other = twoProviders({ hooks: prometheusHooks({ registry, prefix: 'admin_auth' }) });
    await other.auth.authenticate(login);
    const lines = await scrape(registry);
    expect(lines).toContain('admin_auth_attempts_total{outcome="authenticated"} 1');
    expect(lines).toContain('resilient_auth_attempts_total{outcome="authenticated"} 0');
  });

  it('registers the metrics again after registry.clear()', async () => {
    const registry = new Registry();
    prometheusHooks({ registry });
    registry.clear();
    const { auth } = twoProviders({ hooks: prometheusHooks({ registry }) });
    await auth.authenticate(login);
    expect(await scrape(registry)).toContain(
      'resilient_auth_attempts_total{outcome="authenticated"} 1',
    );
  });

  it('refuses a registry holding a metric of one of our names that is not ours, naming it', () => {
    const registry = new Registry();
    new Gauge({ name: 'resilient_auth_serving', help: 'mine', registers: [registry] });
    const error = thrownBy(() => prometheusHooks({ registry }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ option: 'prometheusHooks.registry' });
    expect((error as Error).message).toContain('"resilient_auth_serving"');
    expect((error as Error).message).toContain('pass another registry, or another prefix');
    // Nothing half-registered: the foreign metric is still the only one.
    expect(registry.getMetricsAsArray().map((m) => m.name)).toEqual(['resilient_auth_serving']);
    expect(() => prometheusHooks({ registry, prefix: 'app_auth' })).not.toThrow();
  });

  it('refuses a second call with other buckets for the same metrics', () => {
    const registry = new Registry();
    prometheusHooks({ registry });
    expect(() => prometheusHooks({ registry, lookupBuckets: [0.1, 1] })).toThrow(
      expect.objectContaining({
        option: 'prometheusHooks.lookupBuckets',
        message: expect.stringContaining(
          '"resilient_auth_provider_lookup_duration_seconds" is already registered',
        ),
      }),
    );
  });

  it('one hook set per authenticator: attaching it twice fails the creation', () => {
    const metrics = prometheusHooks({ registry: new Registry() });
    twoProviders({ hooks: metrics });
    expect(() => twoProviders({ hooks: metrics })).toThrow(
      expect.objectContaining({
        option: 'hooks',
        message: expect.stringContaining('call prometheusHooks() once per authenticator'),
      }),
    );
  });
});

describe('prometheusHooks: bad options', () => {
  const expectConfigError = (options: unknown, option: string, message: string) => {
    const error = thrownBy(() => prometheusHooks(options as never));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ option });
    expect((error as Error).message).toContain(message);
  };

  it.each([
    [undefined, 'prometheusHooks', 'expected object'],
    [
      {},
      'prometheusHooks.registry',
      "expected a prom-client Registry (new Registry() from 'prom-client')",
    ],
    [{ registry: {} }, 'prometheusHooks.registry', 'expected a prom-client Registry'],
    [
      { registry: { registerMetric() {} } },
      'prometheusHooks.registry',
      'expected a prom-client Registry',
    ],
  ])('no registry: %j', (options, option, message) => {
    expectConfigError(options, option, message);
  });

  it.each([
    [{ prefix: '' }, 'prometheusHooks.prefix', 'Prometheus metric name'],
    [{ prefix: '1auth' }, 'prometheusHooks.prefix', 'Prometheus metric name'],
    [{ prefix: 'app:auth' }, 'prometheusHooks.prefix', 'without colons'],
    [{ prefix: 'app-auth' }, 'prometheusHooks.prefix', 'Prometheus metric name'],
    [{ prefix: '__auth' }, 'prometheusHooks.prefix', 'reserved by Prometheus'],
    [{ prefix: 7 }, 'prometheusHooks.prefix', 'expected string'],
    [{ lookupBuckets: [] }, 'prometheusHooks.lookupBuckets', 'at least one'],
    [{ lookupBuckets: [0.1, 0.05] }, 'prometheusHooks.lookupBuckets', 'strictly increasing'],
    [{ lookupBuckets: [0.1, 0.1] }, 'prometheusHooks.lookupBuckets', 'strictly increasing'],
    [{ authenticateBuckets: [0, 1] }, 'prometheusHooks.authenticateBuckets.0', 'positive'],
    [{ authenticateBuckets: [1, Number.NaN] }, 'prometheusHooks.authenticateBuckets.1', 'number'],
    [{ authenticateBuckets: ['1'] }, 'prometheusHooks.authenticateBuckets.0', 'expected number'],
    [{ authenticateBuckets: 1 }, 'prometheusHooks.authenticateBuckets', 'expected array'],
    [{ prefx: 'auth' }, 'prometheusHooks', 'prefx'],
  ])('%j with a registry', (options, option, message) => {
    expectConfigError({ registry: new Registry(), ...options }, option, message);
  });

  it('refuses infinite bucket bounds (prom-client adds +Inf itself)', () => {
    const error = thrownBy(() =>
      prometheusHooks({
        registry: new Registry(),
        authenticateBuckets: [1, Number.POSITIVE_INFINITY],
      }),
    );
    expect(error).toMatchObject({ option: 'prometheusHooks.authenticateBuckets.1' });
  });
});

describe('prometheusHooks: a metrics backend that throws', () => {
  it('never changes a login, and the failure is logged by the authenticator', async () => {
    const registry = new Registry();
    const logger = recordingLogger();
    const auth = createResilientAuth({
      providers: [
        memoryProvider({ name: 'primary', accounts }),
        memoryProvider({ name: 'fallback', accounts }),
      ],
      verifier: recordingVerifier(),
      policy: { retry: { maxAttempts: 1 } },
      hooks: prometheusHooks({ registry }),
      logger,
    });
    const broken = () => {
      throw new Error('metrics backend down');
    };
    const attempts = registry.getSingleMetric('resilient_auth_attempts_total') as Counter;
    const lookups = registry.getSingleMetric(
      'resilient_auth_provider_lookup_duration_seconds',
    ) as Histogram;
    const fallbacks = registry.getSingleMetric('resilient_auth_fallback_total') as Counter;
    vi.spyOn(attempts, 'inc').mockImplementation(broken);
    vi.spyOn(lookups, 'observe').mockImplementation(broken);
    vi.spyOn(fallbacks, 'inc').mockImplementation(broken);

    expect(await auth.authenticate(login)).toMatchObject({ ok: true, provider: 'primary' });
    expect(await auth.authenticate({ ...login, password: 'wrong' })).toEqual({
      ok: false,
      reason: 'invalid_credentials',
    });
    const primary = auth.health().providers[0];
    expect(primary?.state).toBe('closed');
    auth.isolate('primary');
    expect(await auth.authenticate(login)).toMatchObject({
      ok: true,
      provider: 'fallback',
      degraded: true,
    });

    const failed = logger.lines.filter((l) => l.level === 'error').map((l) => l.meta);
    expect(failed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ hook: 'onAttempt', error: 'metrics backend down' }),
        expect.objectContaining({ hook: 'onLookup', error: 'metrics backend down' }),
        expect.objectContaining({ hook: 'onFallback', error: 'metrics backend down' }),
      ]),
    );
    // What did not throw still counts; serving is kept even though attempts_total failed.
    expect(await scrape(registry)).toEqual(
      expect.arrayContaining([
        'resilient_auth_serving{provider="fallback"} 1',
        'resilient_auth_authenticate_duration_seconds_count{outcome="authenticated"} 2',
      ]),
    );
  });

  it('a scrape that fails leaves logins alone', async () => {
    const { auth, registry } = withMetrics();
    const serving = registry.getSingleMetric('resilient_auth_serving') as Gauge;
    vi.spyOn(serving, 'set').mockImplementation(() => {
      throw new Error('broken gauge');
    });
    await expect(registry.metrics()).rejects.toThrow('broken gauge');
    expect(await auth.authenticate(login)).toMatchObject({ ok: true });
  });
});
