import { describe, expect, it } from 'vitest';
import {
  type AuthUnavailableError,
  authenticateBody,
  bcryptVerifier,
  createResilientAuth,
  emergencyProvider,
  type HealthSource,
  hashPassword,
  healthResponse,
  MIN_RETRY_AFTER_MS,
  memoryProvider,
  rollout,
} from '../../src/index.js';
import { manualClock } from '../../src/testing/index.js';
import { pgError, recordingLogger } from '../support/fakes.js';
import { accounts, PASSWORD, twoProviders } from '../support/fixtures.js';

const login = { identifier: 'ada@example.com', password: PASSWORD };
const once = { policy: { retry: { maxAttempts: 1 } } } as const;
// One failed call opens a breaker, for 10 s.
const opensAtOnce = {
  policy: {
    retry: { maxAttempts: 1 },
    breaker: { consecutiveFailures: 1 },
    halfOpenAfterMs: 10_000,
  },
} as const;

describe('healthResponse: readiness', () => {
  it('passes with 200 and application/health+json while the primary serves, a datastore entry per provider', async () => {
    const { auth } = twoProviders();
    await auth.authenticate(login);
    const response = await healthResponse(auth);
    expect(response.status).toBe(200);
    expect(response.headers).toEqual({
      'content-type': 'application/health+json',
      'cache-control': 'no-store',
    });
    expect(response.body).toEqual({
      status: 'pass',
      description: 'resilient-auth login',
      checks: {
        'primary:responseTime': [
          {
            componentId: 'primary',
            componentType: 'datastore',
            status: 'pass',
            observedValue: expect.any(Number),
            observedUnit: 'ms',
            time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          },
        ],
        'fallback:responseTime': [
          { componentId: 'fallback', componentType: 'datastore', status: 'pass' },
        ],
      },
    });
  });

  it('warns with 200 while a fallback serves; the failing entry says the kind and code, never the message', async () => {
    const { auth, primary } = twoProviders(once);
    primary.fail(pgError('42703', 'column "x" does not exist at postgres://app:s3cret@db/app'));
    await expect(auth.authenticate(login)).resolves.toMatchObject({ ok: true, degraded: true });
    const response = await healthResponse(auth);
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('warn');
    expect(response.body.checks?.['primary:responseTime']?.[0]).toMatchObject({
      status: 'warn',
      output: 'schema 42703',
    });
    expect(response.body.checks?.['fallback:responseTime']?.[0]?.status).toBe('pass');
    expect(JSON.stringify(response.body)).not.toMatch(/s3cret|postgres:|column "x"/);
  });

  it('fails with 503 only when no provider can decide', async () => {
    const { auth } = twoProviders();
    auth.isolate('primary');
    expect((await healthResponse(auth)).status).toBe(200);
    auth.isolate('fallback');
    const response = await healthResponse(auth);
    expect(response.status).toBe(503);
    expect(response.body.status).toBe('fail');
    expect(response.body.checks?.['primary:responseTime']?.[0]).toMatchObject({
      status: 'fail',
      output: 'circuit isolated',
    });
  });

  it('after an outage with no logins since, probes the providers: a recovered store makes the instance ready again', async () => {
    const { auth, primary, fallback } = twoProviders(once);
    primary.fail();
    fallback.fail();
    await expect(auth.authenticate(login)).rejects.toMatchObject({ code: 'AUTH_UNAVAILABLE' });
    expect(auth.health().status).toBe('unhealthy');
    expect((await healthResponse(auth)).status).toBe(503);
    primary.recover();
    fallback.recover();
    const ready = await healthResponse(auth);
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('pass');
    expect(ready.body.checks?.['primary:responseTime']?.[0]?.observedValue).toEqual(
      expect.any(Number),
    );
  });

  it('providers without a probe and every breaker open: fail while the half-open wait runs, then warn (200), so the instance gets the login that runs the trial', async () => {
    const { auth, primary, fallback, clock } = twoProviders(opensAtOnce);
    // No check(): readiness can only go by the breakers.
    for (const provider of [primary, fallback]) Object.assign(provider, { check: undefined });
    primary.fail();
    fallback.fail();
    await expect(auth.authenticate(login)).rejects.toMatchObject({ code: 'AUTH_UNAVAILABLE' });
    const waiting = await healthResponse(auth);
    expect(waiting.status).toBe(503);
    expect(waiting.body.checks?.['primary:responseTime']?.[0]).toMatchObject({
      status: 'fail',
      output: 'circuit open after connection ECONNREFUSED',
    });
    primary.recover();
    fallback.recover();
    clock.advance(10_000);
    const trial = await healthResponse(auth);
    expect(trial.status).toBe(200);
    expect(trial.body.status).toBe('warn');
    await expect(auth.authenticate(login)).resolves.toMatchObject({
      ok: true,
      provider: 'primary',
    });
    expect((await healthResponse(auth)).body.status).toBe('pass');
  });

  it('a breaker still open whose probe passes: warn, with the circuit state as output', async () => {
    const { auth, primary } = twoProviders(opensAtOnce);
    primary.fail(pgError('57P01'));
    await auth.authenticate(login);
    primary.recover();
    const response = await healthResponse(auth, { activeCheck: true });
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('warn');
    expect(response.body.checks?.['primary:responseTime']?.[0]).toMatchObject({
      status: 'warn',
      output: 'circuit open after connection 57P01',
    });
  });

  it('requests that arrive while a probe runs share it: one round of probes at a time', async () => {
    const { auth, primary } = twoProviders();
    primary.delay(20);
    let checks = 0;
    const counted = {
      health: () => auth.health(),
      check: () => {
        checks += 1;
        return auth.check();
      },
    };
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => healthResponse(counted, { activeCheck: true })),
    );
    expect(checks).toBe(1);
    expect(answers.every((a) => a.body.status === 'pass')).toBe(true);
    await healthResponse(counted, { activeCheck: true });
    expect(checks).toBe(2);
  });

  it('activeCheck probes on every call: a primary whose probe fails warns although no login saw it', async () => {
    const { auth, primary } = twoProviders();
    await auth.authenticate(login);
    primary.fail(pgError('57P01'));
    expect((await healthResponse(auth)).body.status).toBe('pass');
    const probed = await healthResponse(auth, { activeCheck: true });
    expect(probed.status).toBe(200);
    expect(probed.body.status).toBe('warn');
    expect(probed.body.checks?.['primary:responseTime']?.[0]).toMatchObject({
      status: 'fail',
      output: 'connection 57P01',
    });
  });

  it('warns while the throttle store or a hook set is failing, without their messages', async () => {
    const source: HealthSource = {
      health: () => ({
        status: 'healthy',
        providers: [{ name: 'primary', state: 'closed', lastSuccessAt: new Date() }],
        throttle: { store: 'postgres', storeOk: false },
        hookSets: [
          { name: 'audit', ok: false, message: 'connect ECONNREFUSED 10.0.0.7:5432', counts: {} },
        ],
      }),
      check: () => Promise.reject(new Error('not called')),
    };
    const response = await healthResponse(source);
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('warn');
    expect(response.body.checks).toMatchObject({
      'throttle:status': [{ componentType: 'datastore', status: 'warn' }],
      'audit:status': [{ componentType: 'component', status: 'warn', output: 'failing' }],
    });
    expect(JSON.stringify(response.body)).not.toContain('10.0.0.7');
  });

  it('warns while a rollout is rolled back or break-glass access has expired, and passes otherwise', async () => {
    const clock = manualClock();
    const candidate = memoryProvider({ name: 'candidate', accounts });
    const auth = createResilientAuth({
      providers: rollout({
        name: 'users-v2',
        control: [memoryProvider({ name: 'control', accounts })],
        candidate: [candidate],
        percent: 100,
        rollback: { minimumCalls: 1 },
      }),
      emergency: emergencyProvider({
        accounts: [{ identifier: 'ops', passwordHash: await hashPassword('break glass', 10) }],
        expiresAt: new Date(clock.now() + 60_000),
        user: (identifier) => ({ id: 0, email: identifier }),
      }),
      verifier: bcryptVerifier({ threads: 0, cost: 4 }),
      clock,
      logger: recordingLogger(),
    });
    await auth.authenticate(login);
    const before = await healthResponse(auth);
    expect(before.body.status).toBe('pass');
    expect(before.body.checks).toMatchObject({
      'rollout:users-v2:status': [{ componentType: 'component', status: 'pass' }],
      'emergency:status': [
        { status: 'pass', output: `expires ${new Date(clock.now() + 60_000).toISOString()}` },
      ],
    });

    candidate.fail(pgError('42P01'));
    await auth.authenticate(login);
    clock.advance(60_000);
    const after = await healthResponse(auth);
    expect(after.status).toBe(200);
    expect(after.body.status).toBe('warn');
    expect(after.body.checks).toMatchObject({
      'rollout:users-v2:status': [{ status: 'warn', output: 'rolled back (failure_rate)' }],
      'emergency:status': [{ status: 'warn', output: expect.stringMatching(/^expired /) }],
    });
    expect(JSON.stringify(after.body)).not.toContain('ops');
    await auth.close();
  });
});

describe('healthResponse: a new instance', () => {
  it('probes before it says ready: with every database unreachable it is not ready, call after call', async () => {
    const { auth, primary, fallback } = twoProviders();
    primary.fail();
    fallback.fail();
    for (let call = 0; call < 2; call++) {
      const response = await healthResponse(auth);
      expect(response.status).toBe(503);
      expect(response.body.checks?.['primary:responseTime']?.[0]).toMatchObject({
        status: 'fail',
        output: 'connection ECONNREFUSED',
      });
    }
    primary.recover();
    expect((await healthResponse(auth)).body.status).toBe('pass');
  });

  it('once a probe found every provider down, the next calls probe again instead of trusting an older success', async () => {
    const { auth, primary, fallback } = twoProviders();
    await auth.authenticate(login);
    primary.fail();
    fallback.fail();
    expect((await healthResponse(auth, { activeCheck: true })).status).toBe(503);
    expect((await healthResponse(auth)).status).toBe(503);
  });

  it('with only its fallback reachable it is ready with warn', async () => {
    const { auth, primary } = twoProviders();
    primary.fail();
    const response = await healthResponse(auth);
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('warn');
  });
});

describe('healthResponse: liveness', () => {
  it('passes without reading health or probing anything', async () => {
    const untouchable: HealthSource = {
      health: () => {
        throw new Error('liveness must not read health');
      },
      check: () => Promise.reject(new Error('liveness must not probe')),
    };
    const response = await healthResponse(untouchable, { probe: 'liveness' });
    expect(response).toMatchObject({ status: 200, body: { status: 'pass' } });
    expect(response.body.checks).toBeUndefined();
  });
});

describe('AuthUnavailableError.retryAfterMs', () => {
  const unavailable = (auth: ReturnType<typeof twoProviders>['auth']) =>
    auth.authenticate(login).then(
      () => expect.unreachable('the login was decided'),
      (e: unknown) => e as AuthUnavailableError,
    );

  it('is the 1 s minimum while the failing providers may be called again at once', async () => {
    const { auth, primary, fallback } = twoProviders(once);
    primary.fail();
    fallback.fail();
    expect((await unavailable(auth)).retryAfterMs).toBe(MIN_RETRY_AFTER_MS);
  });

  it('is the time until the soonest breaker lets a trial through', async () => {
    const { auth, primary, fallback, clock } = twoProviders(opensAtOnce);
    primary.fail();
    await auth.authenticate(login); // the primary opens; the fallback answers
    clock.advance(2_000);
    fallback.fail();
    await unavailable(auth); // the fallback opens too
    clock.advance(3_000);
    const error = await unavailable(auth);
    expect(error.failures.map((f) => f.skipped)).toEqual(['circuit_open', 'circuit_open']);
    expect(error.retryAfterMs).toBe(5_000);
  });

  it('reaches the client as Retry-After in whole seconds, rounded up', async () => {
    const { auth, primary, fallback, clock } = twoProviders(opensAtOnce);
    primary.fail();
    fallback.fail();
    await unavailable(auth);
    clock.advance(4_500);
    const outcome = await authenticateBody(auth, {
      identifier: login.identifier,
      password: PASSWORD,
    });
    expect(outcome).toMatchObject({
      ok: false,
      error: { status: 503, headers: { 'retry-after': '6' }, retryAfterMs: 5_500 },
    });
  });

  it('is a minute when every provider is isolated: only an operator can end that', async () => {
    const { auth } = twoProviders();
    auth.isolate('primary');
    auth.isolate('fallback');
    expect((await unavailable(auth)).retryAfterMs).toBe(60_000);
  });
});
