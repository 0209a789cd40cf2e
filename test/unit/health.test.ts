import { describe, expect, it } from 'vitest';
import { pgError } from '../support/fakes.js';
import { PASSWORD, twoProviders } from '../support/fixtures.js';

const login = { identifier: 'ada@example.com', password: PASSWORD };

describe('health() snapshot', () => {
  it('starts healthy with every breaker closed', () => {
    const { auth } = twoProviders();
    expect(auth.health()).toEqual({
      status: 'healthy',
      providers: [
        { name: 'primary', state: 'closed' },
        { name: 'fallback', state: 'closed' },
      ],
    });
  });

  it('says degraded while a fallback serves, naming the last failure and its code; healthy again after', async () => {
    const { auth, primary, clock } = twoProviders({ policy: { retry: { maxAttempts: 1 } } });
    primary.fail(pgError('42703', 'column "must_change_password" does not exist'), 1);
    await auth.authenticate(login);
    const degraded = auth.health();
    expect(degraded.status).toBe('degraded');
    expect(degraded.providers[0]).toEqual({
      name: 'primary',
      state: 'closed',
      lastFailure: {
        message: 'column "must_change_password" does not exist',
        code: '42703',
        kind: 'schema',
        hint: 'the table or a column is missing: run the migration, or fix the table/columns mapping',
        at: new Date(clock.now()),
      },
    });
    expect(degraded.providers[1]?.lastSuccessAt).toEqual(new Date(clock.now()));
    await auth.authenticate(login);
    expect(auth.health().status).toBe('healthy');
  });

  it('says degraded when the primary is open or isolated, unhealthy when none can serve', async () => {
    const { auth } = twoProviders();
    auth.isolate('primary');
    expect(auth.health().status).toBe('degraded');
    auth.isolate('fallback');
    expect(auth.health().status).toBe('unhealthy');
    auth.reset('primary');
    auth.reset('fallback');
    expect(auth.health().status).toBe('healthy');
  });
});

describe('check() active probes', () => {
  it('probes every provider under its timeout and reports which failed, with code', async () => {
    const { auth, fallback } = twoProviders({ policy: { timeoutMs: 50 } });
    fallback.fail(pgError('3D000', 'database "app" does not exist'));
    const report = await auth.check();
    expect(report.ok).toBe(false);
    expect(report.providers).toEqual([
      { name: 'primary', probed: true, ok: true, durationMs: expect.any(Number) },
      {
        name: 'fallback',
        probed: true,
        ok: false,
        durationMs: expect.any(Number),
        error: {
          message: 'database "app" does not exist',
          code: '3D000',
          kind: 'configuration',
          hint: expect.stringContaining('database name'),
        },
      },
    ]);
    expect(report.health.providers[1]?.lastFailure?.code).toBe('3D000');
  });

  it('times a hanging probe out', async () => {
    const { auth, primary } = twoProviders({ policy: { timeoutMs: 20 } });
    primary.hang();
    const report = await auth.check();
    expect(report.providers[0]).toMatchObject({ ok: false, error: { code: 'PROVIDER_TIMEOUT' } });
  });

  it('reports providers without check() as not probed', async () => {
    const { auth } = twoProviders({
      providers: [{ name: 'bare', findAccount: async () => null }],
    });
    await expect(auth.check()).resolves.toMatchObject({
      ok: true,
      providers: [{ name: 'bare', probed: false, ok: true }],
    });
  });
});
