import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type AuthUnavailableError,
  createResilientAuth,
  isAuthUnavailableError,
  memoryProvider,
} from '../../src/index.js';
import { pgError, recordingVerifier } from '../support/fakes.js';
import { accounts, holdLookups, PASSWORD, slowFailure, twoProviders } from '../support/fixtures.js';

const login = { identifier: 'ada@example.com', password: PASSWORD };

async function unavailable(promise: Promise<unknown>): Promise<AuthUnavailableError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isAuthUnavailableError(error))
    throw new Error(`expected AuthUnavailableError, got ${String(error)}`);
  return error;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('retry', () => {
  it('retries a transient failure on the same provider after a backoff, then succeeds', async () => {
    vi.useFakeTimers();
    const { auth, primary, fallback, of } = twoProviders({
      policy: { retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000 } },
    });
    primary.fail(pgError('ECONNRESET', 'read ECONNRESET'), 2);
    const pending = auth.authenticate(login);
    await vi.advanceTimersByTimeAsync(0);
    expect(primary.lookups).toBe(1);
    // First backoff is 50–100 ms (full jitter between half and all of baseDelayMs).
    await vi.advanceTimersByTimeAsync(100);
    expect(primary.lookups).toBe(2);
    // Second backoff doubles: 100–200 ms.
    await vi.advanceTimersByTimeAsync(200);
    await expect(pending).resolves.toMatchObject({
      ok: true,
      provider: 'primary',
      degraded: false,
    });
    expect(primary.lookups).toBe(3);
    expect(fallback.lookups).toBe(0);
    expect(of('onProviderFailure')).toEqual([
      expect.objectContaining({
        provider: 'primary',
        code: 'ECONNRESET',
        attempt: 1,
        willRetry: true,
      }),
      expect.objectContaining({
        provider: 'primary',
        code: 'ECONNRESET',
        attempt: 2,
        willRetry: true,
      }),
    ]);
  });

  it.each([
    ['08006', 'connection failure'],
    ['53300', 'too many connections'],
    ['57P01', 'terminating connection due to administrator command'],
    ['57P03', 'the database system is starting up'],
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'],
  ])('treats %s as transient', async (code, message) => {
    const { auth, primary } = twoProviders({ policy: { retry: { baseDelayMs: 0 } } });
    primary.fail(pgError(code, message), 1);
    await expect(auth.authenticate(login)).resolves.toMatchObject({ provider: 'primary' });
    expect(primary.lookups).toBe(2);
  });

  it.each([
    ['42P01', 'relation "users" does not exist'],
    ['42703', 'column "must_change_password" does not exist'],
    ['28P01', 'password authentication failed for user "app"'],
    ['3D000', 'database "app" does not exist'],
    ['25006', 'cannot execute UPDATE in a read-only transaction'],
  ])('does not retry permanent %s: fails over at once', async (code, message) => {
    const { auth, primary, fallback } = twoProviders();
    primary.fail(pgError(code, message));
    await expect(auth.authenticate(login)).resolves.toMatchObject({
      provider: 'fallback',
      degraded: true,
    });
    expect(primary.lookups).toBe(1);
    expect(fallback.lookups).toBe(1);
  });

  it('does not retry once the failure opened the breaker: the real cause is reported, not CIRCUIT_OPEN', async () => {
    const { auth, primary, of } = twoProviders({
      policy: { breaker: { consecutiveFailures: 1 }, retry: { maxAttempts: 3, baseDelayMs: 0 } },
    });
    primary.fail(pgError('08006', 'connection failure'));
    await expect(auth.authenticate(login)).resolves.toMatchObject({ provider: 'fallback' });
    expect(primary.lookups).toBe(1);
    expect(of('onProviderFailure')).toEqual([
      expect.objectContaining({ provider: 'primary', code: '08006', attempt: 1, willRetry: false }),
    ]);
    expect(of('onFallback')).toEqual([
      expect.objectContaining({
        failures: [expect.objectContaining({ provider: 'primary', code: '08006', attempts: 1 })],
      }),
    ]);
  });

  it('asks the breaker again after the backoff: no retry once other calls opened it', async () => {
    vi.useFakeTimers();
    const { auth, primary, of } = twoProviders({
      policy: {
        breaker: { consecutiveFailures: 2 },
        retry: { maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 100 },
        halfOpenAfterMs: 30_000,
      },
    });
    primary.fail(pgError('08006'));
    const first = auth.authenticate(login);
    // The first call fails once and backs off (50 to 100 ms)...
    await vi.advanceTimersByTimeAsync(1);
    expect(of('onProviderFailure')).toEqual([expect.objectContaining({ willRetry: true })]);
    // ...while a second call's failure opens the breaker.
    await expect(auth.authenticate(login)).resolves.toMatchObject({ provider: 'fallback' });
    expect(auth.health().providers[0]?.state).toBe('open');
    await vi.advanceTimersByTimeAsync(100);
    await expect(first).resolves.toMatchObject({ provider: 'fallback' });
    // The retry after the backoff was not made, and no half-open trial started.
    expect(primary.lookups).toBe(2);
    expect(auth.health().providers[0]?.state).toBe('open');
    expect(of('onFallback')[1]).toMatchObject({
      failures: [expect.objectContaining({ provider: 'primary', code: '08006', attempts: 1 })],
    });
  });

  it('does not start a retry whose backoff would outlive the deadline', async () => {
    vi.useFakeTimers();
    const { auth, primary, fallback } = twoProviders({
      deadlineMs: 200,
      policy: { retry: { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 1000 } },
    });
    primary.fail();
    const pending = auth.authenticate(login);
    await vi.advanceTimersByTimeAsync(0);
    await expect(pending).resolves.toMatchObject({ provider: 'fallback' });
    expect(primary.lookups).toBe(1);
    expect(fallback.lookups).toBe(1);
  });
});

describe('timeouts and the overall deadline', () => {
  it('times a slow attempt out and fails over within the deadline', async () => {
    vi.useFakeTimers();
    const { auth, primary } = twoProviders({ policy: { timeoutMs: 300 } });
    primary.delay(10_000);
    const pending = auth.authenticate(login);
    await vi.advanceTimersByTimeAsync(300);
    await expect(pending).resolves.toMatchObject({
      ok: true,
      provider: 'fallback',
      degraded: true,
    });
  });

  it('bounds a hanging provider that ignores its signal: unavailable once the deadline passes', async () => {
    vi.useFakeTimers();
    const { auth, primary, fallback } = twoProviders({
      deadlineMs: 500,
      policy: { timeoutMs: 400 },
    });
    primary.hang();
    fallback.hang();
    let settled = false;
    const pending = unavailable(auth.authenticate(login)).finally(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(499);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await pending;
    expect(error.failures.map((f) => [f.provider, f.code])).toEqual([
      ['primary', 'PROVIDER_TIMEOUT'],
      ['fallback', 'DEADLINE_EXCEEDED'],
    ]);
  });

  it('counts a deadline cut against a provider that had the whole deadline: a hung primary opens its breaker', async () => {
    vi.useFakeTimers();
    const { auth, primary, fallback } = twoProviders({
      deadlineMs: 100,
      policy: { timeoutMs: 1000, breaker: { consecutiveFailures: 1 } },
    });
    primary.hang();
    const pending = unavailable(auth.authenticate(login));
    await vi.advanceTimersByTimeAsync(100);
    expect((await pending).failures.map((f) => [f.provider, f.code, f.skipped])).toEqual([
      ['primary', 'DEADLINE_EXCEEDED', undefined],
      ['fallback', 'DEADLINE_EXCEEDED', 'deadline_exceeded'],
    ]);
    expect(auth.health().providers[0]?.state).toBe('open');
    // With the hung primary skipped, the fallback gets the deadline and answers.
    await expect(auth.authenticate(login)).resolves.toMatchObject({
      ok: true,
      provider: 'fallback',
    });
    expect(fallback.lookups).toBe(1);
  });

  it('does not count a deadline cut against a provider whose time earlier providers used', async () => {
    vi.useFakeTimers();
    const earlier = slowFailure(90);
    const fallback = memoryProvider({ name: 'fallback', accounts });
    const auth = createResilientAuth({
      providers: [earlier, fallback],
      deadlineMs: 100,
      policy: { timeoutMs: 1000, breaker: { consecutiveFailures: 1 } },
      verifier: recordingVerifier(),
    });
    fallback.hang();
    for (let i = 0; i < 3; i++) {
      const pending = unavailable(auth.authenticate(login));
      await vi.advanceTimersByTimeAsync(100);
      const error = await pending;
      expect(error.failures[1]).toMatchObject({
        provider: 'fallback',
        code: 'DEADLINE_EXCEEDED',
        message:
          'provider "fallback" was cut off by the 100 ms deadline (earlier providers had used part of it)',
      });
      auth.reset('slow-failure');
    }
    expect(fallback.lookups).toBe(3);
    expect(auth.health().providers[1]?.state).toBe('closed');
  });

  it('counts a deadline cut during a half-open trial: the trial failed, the breaker opens again', async () => {
    vi.useFakeTimers();
    const { auth, primary, clock } = twoProviders({
      deadlineMs: 100,
      policy: { timeoutMs: 1000, breaker: { consecutiveFailures: 1 }, halfOpenAfterMs: 30_000 },
    });
    primary.fail(pgError('08006'), 1);
    await auth.authenticate(login);
    expect(auth.health().providers[0]?.state).toBe('open');
    clock.advance(30_000);
    primary.delay(10_000);
    const pending = unavailable(auth.authenticate(login));
    await vi.advanceTimersByTimeAsync(100);
    await pending;
    expect(auth.health().providers[0]?.state).toBe('open');
  });

  it('keeps the signal when a provider spreads its context, and aborts it on timeout', async () => {
    vi.useFakeTimers();
    const { auth, primary } = twoProviders({ policy: { timeoutMs: 100 } });
    const seen: AbortSignal[] = [];
    primary.findAccount = (_identifier, ctx) => {
      const copy = { ...ctx };
      seen.push(copy.signal);
      return new Promise(() => undefined);
    };
    const pending = auth.authenticate(login);
    await vi.advanceTimersByTimeAsync(100);
    await expect(pending).resolves.toMatchObject({ provider: 'fallback' });
    expect(seen[0]).toBeInstanceOf(AbortSignal);
    expect(seen[0]?.aborted).toBe(true);
    expect(seen[0]?.reason).toMatchObject({ code: 'PROVIDER_TIMEOUT' });
  });

  it('passes an AbortSignal that aborts when the attempt times out', async () => {
    vi.useFakeTimers();
    const { auth, primary } = twoProviders({ policy: { timeoutMs: 100 } });
    const seen: AbortSignal[] = [];
    const original = primary.findAccount.bind(primary);
    primary.findAccount = (_identifier, ctx) => {
      seen.push(ctx.signal);
      return new Promise(() => undefined);
    };
    const pending = auth.authenticate(login);
    await vi.advanceTimersByTimeAsync(100);
    await expect(pending).resolves.toMatchObject({ provider: 'fallback' });
    expect(seen[0]?.aborted).toBe(true);
    primary.findAccount = original;
  });
});

describe('circuit breaker', () => {
  const policy = {
    breaker: { consecutiveFailures: 3 },
    halfOpenAfterMs: 30_000,
    retry: { maxAttempts: 1 },
  };

  it('opens after consecutive failures, then skips the provider at no cost', async () => {
    const { auth, primary, fallback, of } = twoProviders({ policy });
    primary.fail(pgError('08006'));
    for (let i = 0; i < 3; i++) await auth.authenticate(login);
    expect(primary.lookups).toBe(3);
    expect(auth.health().providers[0]).toMatchObject({ name: 'primary', state: 'open' });
    expect(of('onCircuitStateChange')).toEqual([
      { provider: 'primary', from: 'closed', to: 'open' },
    ]);

    const result = await auth.authenticate(login);
    expect(result).toMatchObject({ ok: true, provider: 'fallback', degraded: true });
    expect(primary.lookups).toBe(3);
    expect(fallback.lookups).toBe(4);
  });

  it('counts a definitive "not found" and a wrong password as successes', async () => {
    const { auth, primary } = twoProviders({ policy });
    primary.fail(pgError('08006'), 2);
    await auth.authenticate(login);
    await auth.authenticate(login);
    await auth.authenticate({ identifier: 'nobody@example.com', password: 'x' });
    await auth.authenticate({ identifier: 'ada@example.com', password: 'wrong' });
    primary.fail(pgError('08006'), 2);
    await auth.authenticate(login);
    await auth.authenticate(login);
    expect(auth.health().providers[0]?.state).toBe('closed');
  });

  it('half-open: one trial call on the clock; concurrent calls go to the fallback instead of waiting; success closes', async () => {
    const { auth, primary, fallback, clock, of } = twoProviders({ policy });
    primary.fail(pgError('08006'));
    for (let i = 0; i < 3; i++) await auth.authenticate(login);
    primary.recover();

    clock.advance(29_999);
    await expect(auth.authenticate(login)).resolves.toMatchObject({ provider: 'fallback' });
    expect(primary.lookups).toBe(3);

    clock.advance(1);
    const held = holdLookups(primary);
    const trial = auth.authenticate(login);
    await vi.waitFor(() => expect(auth.health().providers[0]?.state).toBe('half-open'));

    const fallbackLookups = fallback.lookups;
    const concurrent = await auth.authenticate(login);
    expect(concurrent).toMatchObject({ ok: true, provider: 'fallback', degraded: true });
    expect(fallback.lookups).toBe(fallbackLookups + 1);

    held.release();
    await expect(trial).resolves.toMatchObject({ ok: true, provider: 'primary', degraded: false });
    expect(auth.health().providers[0]?.state).toBe('closed');
    expect(of('onCircuitStateChange').map((e) => (e as { to: string }).to)).toEqual([
      'open',
      'half-open',
      'closed',
    ]);
  });

  it('half-open trial that fails reopens the breaker for another halfOpenAfterMs', async () => {
    const { auth, primary, clock } = twoProviders({ policy });
    primary.fail(pgError('08006'));
    for (let i = 0; i < 3; i++) await auth.authenticate(login);
    clock.advance(30_000);
    await auth.authenticate(login);
    expect(primary.lookups).toBe(4);
    expect(auth.health().providers[0]?.state).toBe('open');
    clock.advance(29_000);
    await auth.authenticate(login);
    expect(primary.lookups).toBe(4);
  });

  it('a failure-rate breaker opens when the rate passes the threshold', async () => {
    const { auth, primary } = twoProviders({
      policy: {
        retry: { maxAttempts: 1 },
        breaker: { failureRate: 0.5, windowMs: 10_000, minimumRps: 0.1 },
      },
    });
    primary.fail(pgError('08006'));
    for (let i = 0; i < 4; i++) await auth.authenticate(login);
    expect(auth.health().providers[0]?.state).toBe('open');
  });

  it('isolate(name) holds a provider out by hand; reset(name) lets it back', async () => {
    const { auth, primary, of } = twoProviders();
    auth.isolate('primary');
    await expect(auth.authenticate(login)).resolves.toMatchObject({ provider: 'fallback' });
    expect(primary.lookups).toBe(0);
    expect(auth.health().providers[0]?.state).toBe('isolated');
    auth.reset('primary');
    await expect(auth.authenticate(login)).resolves.toMatchObject({ provider: 'primary' });
    expect(of('onCircuitStateChange')).toEqual([
      { provider: 'primary', from: 'closed', to: 'isolated' },
      { provider: 'primary', from: 'isolated', to: 'closed' },
    ]);
  });

  it('reset(name) closes an open breaker', async () => {
    const { auth, primary } = twoProviders({ policy });
    primary.fail(pgError('08006'), 3);
    for (let i = 0; i < 3; i++) await auth.authenticate(login);
    expect(auth.health().providers[0]?.state).toBe('open');
    auth.reset('primary');
    await expect(auth.authenticate(login)).resolves.toMatchObject({ provider: 'primary' });
  });

  it('lists skipped providers in AuthUnavailableError.failures, with why', async () => {
    const { auth, primary, fallback } = twoProviders({ policy });
    primary.fail(pgError('08006'));
    fallback.fail(pgError('08006'));
    for (let i = 0; i < 3; i++) await unavailable(auth.authenticate(login));
    const error = await unavailable(auth.authenticate(login));
    expect(error.failures).toEqual([
      expect.objectContaining({
        provider: 'primary',
        skipped: 'circuit_open',
        attempts: 0,
        code: 'CIRCUIT_OPEN',
      }),
      expect.objectContaining({ provider: 'fallback', skipped: 'circuit_open', attempts: 0 }),
    ]);
    expect(error.failures[0]?.message).toContain('last failure code 08006');
    expect(auth.health().status).toBe('unhealthy');
  });
});
