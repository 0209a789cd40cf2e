import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type AuthProvider,
  createResilientAuth,
  isAuthUnavailableError,
  isConfigError,
  type PolicyOptions,
} from '../../src/index.js';
import { manualClock } from '../../src/testing/index.js';
import { fakeHash, pgError, recordingLogger, recordingVerifier } from '../support/fakes.js';
import { ADA, PASSWORD, recordingHooks } from '../support/fixtures.js';

const login = { identifier: 'ada@example.com', password: PASSWORD };
const ADA_ACCOUNT = { user: ADA, passwordHash: fakeHash(PASSWORD), active: true };

interface Pending {
  readonly signal: AbortSignal;
  answer(ms?: number): void;
  fail(error: Error, ms?: number): void;
}

/**
 * A provider under the test's hand. `takeMs` (on the manual clock) is how long
 * each lookup "takes" when it answers by itself; with `hold`, lookups wait in
 * `pending` until the test answers or fails them.
 */
function scripted(name: string, clock: { advance(ms: number): void }) {
  const pending: Pending[] = [];
  const state = { takeMs: 0, hold: false, failWith: undefined as Error | undefined, lookups: 0 };
  const provider: AuthProvider<typeof ADA> = {
    name,
    findAccount: (_identifier, ctx) => {
      state.lookups++;
      return new Promise((resolve, reject) => {
        const entry: Pending = {
          signal: ctx.signal,
          answer: (ms = 0) => {
            clock.advance(ms);
            resolve(ADA_ACCOUNT);
          },
          fail: (error, ms = 0) => {
            clock.advance(ms);
            reject(error);
          },
        };
        if (state.hold) {
          pending.push(entry);
        } else if (state.failWith) {
          entry.fail(state.failWith, state.takeMs);
        } else {
          entry.answer(state.takeMs);
        }
      });
    },
  };
  return { provider, pending, state };
}

function setup(
  primaryPolicy: PolicyOptions,
  options: { third?: boolean; fallbackPolicy?: PolicyOptions; deadlineMs?: number } = {},
) {
  const clock = manualClock();
  const primary = scripted('primary', clock);
  const fallback = scripted('fallback', clock);
  const third = scripted('third', clock);
  const recorded = recordingHooks();
  const auth = createResilientAuth<typeof ADA>({
    providers: [
      { provider: primary.provider, policy: primaryPolicy },
      { provider: fallback.provider, policy: options.fallbackPolicy ?? {} },
      ...(options.third ? [third.provider] : []),
    ],
    verifier: recordingVerifier(),
    hooks: recorded.hooks,
    logger: recordingLogger(),
    clock,
    ...(options.deadlineMs && { deadlineMs: options.deadlineMs }),
  });
  return { auth, clock, primary, fallback, third, ...recorded };
}

afterEach(() => {
  vi.useRealTimers();
});

const SLOW = { slowCallMs: 100, rate: 0.5, windowMs: 10_000, minimumCalls: 4 } as const;

describe('slow-call breaker', () => {
  it('answers slow lookups, and opens once the share of slow ones reaches the rate', async () => {
    const { auth, primary, fallback, of } = setup({ slowCalls: SLOW, halfOpenAfterMs: 5000 });
    primary.state.takeMs = 10;
    await auth.authenticate(login);
    await auth.authenticate(login);
    primary.state.takeMs = 150;
    // 1 slow of 3: below minimumCalls anyway, and the slow one still answers.
    await expect(auth.authenticate(login)).resolves.toMatchObject({
      ok: true,
      provider: 'primary',
    });
    expect(auth.health().providers[0]!.state).toBe('closed');
    // 2 slow of 4 = 50%: the breaker opens, and this slow call still answers.
    await expect(auth.authenticate(login)).resolves.toMatchObject({
      ok: true,
      provider: 'primary',
    });
    expect(of('onCircuitStateChange')).toEqual([
      { provider: 'primary', from: 'closed', to: 'open' },
    ]);
    const health = auth.health().providers[0]!;
    expect(health.state).toBe('open');
    expect(health.retryInMs).toBe(5000);
    expect(health.lastFailure?.message).toBe(
      'provider "primary" circuit breaker opened for slow calls: 2 of 4 lookups (50%) in the last 10000 ms took longer than 100 ms (threshold 50%)',
    );
    // While open, the primary is skipped at no cost, and no failure was ever reported.
    const lookups = primary.state.lookups;
    await expect(auth.authenticate(login)).resolves.toMatchObject({
      ok: true,
      provider: 'fallback',
      degraded: true,
    });
    expect(primary.state.lookups).toBe(lookups);
    expect(fallback.state.lookups).toBe(1);
    expect(of('onProviderFailure')).toEqual([]);
    expect(of('onFallback')).toEqual([
      expect.objectContaining({
        failures: [
          expect.objectContaining({
            provider: 'primary',
            code: 'CIRCUIT_OPEN',
            message: expect.stringContaining('open for slow calls: 2 of 4 lookups (50%)'),
          }),
        ],
      }),
    ]);
  });

  it('says "slow calls" in the AuthUnavailableError when the only provider is skipped for it', async () => {
    const clock = manualClock();
    const only = scripted('only', clock);
    const auth = createResilientAuth<typeof ADA>({
      providers: [{ provider: only.provider, policy: { slowCalls: { ...SLOW, minimumCalls: 1 } } }],
      verifier: recordingVerifier(),
      clock,
    });
    only.state.takeMs = 101;
    await expect(auth.authenticate(login)).resolves.toMatchObject({ ok: true });
    const error = await auth.authenticate(login).catch((e: unknown) => e);
    expect(isAuthUnavailableError(error)).toBe(true);
    expect((error as Error).message).toContain(
      'skipped: circuit breaker open for slow calls: 1 of 1 lookups (100%) in the last 10000 ms took longer than 100 ms (threshold 50%)',
    );
  });

  it('never opens below minimumCalls, nor for lookups at exactly slowCallMs', async () => {
    const { auth, primary } = setup({ slowCalls: { ...SLOW, minimumCalls: 5 } });
    primary.state.takeMs = 500;
    for (let i = 0; i < 4; i++) await auth.authenticate(login);
    expect(auth.health().providers[0]!.state).toBe('closed');

    const second = setup({ slowCalls: SLOW });
    second.primary.state.takeMs = 100;
    for (let i = 0; i < 10; i++) await second.auth.authenticate(login);
    expect(second.auth.health().providers[0]!.state).toBe('closed');
  });

  it('forgets slow lookups older than windowMs', async () => {
    const { auth, primary, clock } = setup({ slowCalls: SLOW });
    primary.state.takeMs = 200;
    for (let i = 0; i < 3; i++) await auth.authenticate(login);
    clock.advance(10_000);
    // 3 slow calls have left the window: 1 slow of 4 now.
    primary.state.takeMs = 0;
    for (let i = 0; i < 3; i++) await auth.authenticate(login);
    primary.state.takeMs = 200;
    await auth.authenticate(login);
    expect(auth.health().providers[0]!.state).toBe('closed');
    // Without the expiry it would be 4 slow of 7 (57%): here 2 of 5 (40%).
    await auth.authenticate(login);
    expect(auth.health().providers[0]!.state).toBe('closed');
  });

  it('lets a slow answer count as a success for the failure breaker', async () => {
    const { auth, primary } = setup({
      slowCalls: { ...SLOW, minimumCalls: 100 },
      breaker: { consecutiveFailures: 2 },
      retry: { maxAttempts: 1 },
    });
    primary.state.failWith = pgError('42P01');
    await auth.authenticate(login);
    primary.state.failWith = undefined;
    primary.state.takeMs = 500;
    await auth.authenticate(login);
    primary.state.failWith = pgError('42P01');
    await auth.authenticate(login);
    // failure, slow answer, failure: never two failures in a row.
    expect(auth.health().providers[0]!.state).toBe('closed');
  });

  it('reopens when the half-open trial answers slowly, and closes when it answers in time', async () => {
    const { auth, primary, clock, of } = setup({
      slowCalls: { ...SLOW, minimumCalls: 1 },
      halfOpenAfterMs: 1000,
    });
    primary.state.takeMs = 300;
    await auth.authenticate(login);
    clock.advance(1000);
    // The trial is slow: it answers, and the breaker opens again.
    await expect(auth.authenticate(login)).resolves.toMatchObject({
      ok: true,
      provider: 'primary',
    });
    expect(auth.health().providers[0]!.lastFailure?.message).toContain(
      'opened for slow calls: its half-open trial answered but took longer than 100 ms',
    );
    clock.advance(1000);
    primary.state.takeMs = 20;
    await expect(auth.authenticate(login)).resolves.toMatchObject({ provider: 'primary' });
    expect(of('onCircuitStateChange').map((e) => (e as { to: string }).to)).toEqual([
      'open',
      'half-open',
      'open',
      'half-open',
      'closed',
    ]);
    // Closed afresh: one more slow call (1 of 1, minimumCalls 1) opens it again, counted from zero.
    expect(auth.health().providers[0]!.state).toBe('closed');
  });

  it('opens exactly once when concurrent slow lookups settle together, and every one answers', async () => {
    const { auth, primary, of } = setup({ slowCalls: SLOW });
    primary.state.hold = true;
    const calls = Array.from({ length: 8 }, () => auth.authenticate(login));
    await vi.waitFor(() => expect(primary.pending).toHaveLength(8));
    // Each settles 200 ms after the previous on the clock: all slow, interleaved in one tick.
    for (const lookup of primary.pending) lookup.answer(200);
    const results = await Promise.all(calls);
    expect(results.every((r) => r.ok && r.provider === 'primary')).toBe(true);
    expect(of('onCircuitStateChange')).toEqual([
      { provider: 'primary', from: 'closed', to: 'open' },
    ]);
    expect(auth.health().providers[0]!.lastFailure?.message).toContain('4 of 4 lookups (100%)');
  });

  it('counts concurrent failures and slow answers each in their own breaker', async () => {
    const { auth, primary } = setup({
      slowCalls: { ...SLOW, minimumCalls: 10 },
      breaker: { consecutiveFailures: 3 },
      retry: { maxAttempts: 1 },
    });
    primary.state.hold = true;
    const calls = Array.from({ length: 6 }, () => auth.authenticate(login).catch(() => undefined));
    await vi.waitFor(() => expect(primary.pending).toHaveLength(6));
    // fail, slow, fail, slow, fail, slow: 3 failures but never 3 in a row; 6 calls < minimumCalls.
    primary.pending.forEach((lookup, i) => {
      if (i % 2 === 0) lookup.fail(pgError('42P01'));
      else lookup.answer(500);
    });
    await Promise.all(calls);
    expect(auth.health().providers[0]!.state).toBe('closed');
  });

  it('keeps isolate() and reset() working; reset forgets the slow lookups', async () => {
    const { auth, primary } = setup({ slowCalls: SLOW });
    primary.state.takeMs = 200;
    for (let i = 0; i < 4; i++) await auth.authenticate(login);
    expect(auth.health().providers[0]!.state).toBe('open');
    auth.reset('primary');
    expect(auth.health().providers[0]!.state).toBe('closed');
    for (let i = 0; i < 3; i++) await auth.authenticate(login);
    expect(auth.health().providers[0]!.state).toBe('closed');
    auth.isolate('primary');
    expect(auth.health().providers[0]!.state).toBe('isolated');
    await expect(auth.authenticate(login)).resolves.toMatchObject({ provider: 'fallback' });
  });

  it('refuses bad options with a ConfigError naming them', () => {
    const bad = (policy: unknown) => {
      try {
        createResilientAuth({
          providers: [scripted('p', manualClock()).provider],
          policy: policy as PolicyOptions,
        });
      } catch (error) {
        if (isConfigError(error)) return error.option;
        throw error;
      }
      return 'accepted';
    };
    expect(bad({ slowCalls: { slowCallMs: 100, rate: 0 } })).toBe('policy.slowCalls.rate');
    expect(bad({ slowCalls: { rate: 0.5 } })).toBe('policy.slowCalls.slowCallMs');
    expect(bad({ hedgeAfterMs: 'p99' })).toBe('policy.hedgeAfterMs');
    expect(bad({ hedgeAfterMs: 0 })).toBe('policy.hedgeAfterMs');
  });
});

describe('hedged lookups', () => {
  it('asks the next provider when the primary has not answered after hedgeAfterMs, takes its answer and cancels the primary', async () => {
    vi.useFakeTimers();
    const { auth, primary, fallback, of } = setup({
      hedgeAfterMs: 50,
      breaker: { consecutiveFailures: 1 },
    });
    primary.state.hold = true;
    const pending = auth.authenticate(login);
    await vi.advanceTimersByTimeAsync(49);
    expect(fallback.state.lookups).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    await expect(pending).resolves.toMatchObject({
      ok: true,
      provider: 'fallback',
      degraded: false,
    });
    expect(primary.pending[0]!.signal.aborted).toBe(true);
    expect(of('onLookup')).toEqual([
      expect.objectContaining({ provider: 'fallback', result: 'found', hedged: true }),
      expect.objectContaining({ provider: 'primary', result: 'cancelled' }),
    ]);
    expect(of('onLookup')[1] as object).not.toHaveProperty('hedged');
    // Cancelled: not a failure, not a fallback, not counted by the breaker (1 failure would open it).
    expect(of('onProviderFailure')).toEqual([]);
    expect(of('onFallback')).toEqual([]);
    expect(of('onDegraded')).toEqual([]);
    expect(auth.health().providers[0]!.state).toBe('closed');
    expect(auth.health().providers[0]!.lastFailure).toBeUndefined();
  });

  it('does not hedge when the primary answers in time', async () => {
    vi.useFakeTimers();
    const { auth, primary, fallback } = setup({ hedgeAfterMs: 50 });
    primary.state.hold = true;
    const pending = auth.authenticate(login);
    await vi.advanceTimersByTimeAsync(30);
    primary.pending[0]!.answer();
    await expect(pending).resolves.toMatchObject({ provider: 'primary' });
    await vi.advanceTimersByTimeAsync(100);
    expect(fallback.state.lookups).toBe(0);
  });

  it('takes the primary when it answers after the hedge started, and cancels the hedge', async () => {
    vi.useFakeTimers();
    const { auth, primary, fallback, of } = setup({ hedgeAfterMs: 50 });
    primary.state.hold = true;
    fallback.state.hold = true;
    const pending = auth.authenticate(login);
    await vi.advanceTimersByTimeAsync(50);
    expect(fallback.pending).toHaveLength(1);
    primary.pending[0]!.answer();
    await expect(pending).resolves.toMatchObject({ provider: 'primary', degraded: false });
    expect(fallback.pending[0]!.signal.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(of('onLookup')).toEqual([
      expect.objectContaining({ provider: 'primary', result: 'found' }),
      expect.objectContaining({ provider: 'fallback', result: 'cancelled', hedged: true }),
    ]);
  });

  it('waits for the other lookup when one fails: a failure is not an answer', async () => {
    vi.useFakeTimers();
    const { auth, primary, fallback, of } = setup({ hedgeAfterMs: 50, retry: { maxAttempts: 1 } });
    primary.state.hold = true;
    fallback.state.hold = true;
    const pending = auth.authenticate(login);
    await vi.advanceTimersByTimeAsync(50);
    fallback.pending[0]!.fail(pgError('42P01'));
    await vi.advanceTimersByTimeAsync(10);
    primary.pending[0]!.answer();
    // The hedge's failure is its own (reported, counted), but the primary answered: not degraded.
    await expect(pending).resolves.toMatchObject({ provider: 'primary', degraded: false });
    expect(of('onProviderFailure')).toEqual([
      expect.objectContaining({ provider: 'fallback', code: '42P01' }),
    ]);
    expect(of('onFallback')).toEqual([]);
  });

  it('is degraded when the primary failed and the hedge answered', async () => {
    vi.useFakeTimers();
    const { auth, primary, fallback, of } = setup({ hedgeAfterMs: 50, retry: { maxAttempts: 1 } });
    primary.state.hold = true;
    fallback.state.hold = true;
    const pending = auth.authenticate(login);
    await vi.advanceTimersByTimeAsync(50);
    primary.pending[0]!.fail(pgError('42P01'));
    await vi.advanceTimersByTimeAsync(10);
    fallback.pending[0]!.answer();
    await expect(pending).resolves.toMatchObject({ provider: 'fallback', degraded: true });
    expect(of('onFallback')).toEqual([
      expect.objectContaining({
        provider: 'fallback',
        failures: [expect.objectContaining({ provider: 'primary' })],
      }),
    ]);
  });

  it('is degraded when the hedge answered while the primary, having failed, waited to retry', async () => {
    vi.useFakeTimers();
    const { auth, primary, fallback, of } = setup({
      hedgeAfterMs: 10,
      retry: { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 200 },
    });
    primary.state.failWith = pgError('08006', 'connection failure');
    fallback.state.hold = true;
    const pending = auth.authenticate(login);
    await vi.advanceTimersByTimeAsync(10);
    expect(primary.state.lookups).toBe(1);
    fallback.pending[0]!.answer();
    await expect(pending).resolves.toMatchObject({ provider: 'fallback', degraded: true });
    // Cancelled in its backoff: no second attempt, but its failure is the call's.
    expect(primary.state.lookups).toBe(1);
    expect(of('onFallback')).toEqual([
      expect.objectContaining({
        provider: 'fallback',
        failures: [expect.objectContaining({ provider: 'primary', code: '08006' })],
      }),
    ]);
    expect(auth.health()).toMatchObject({
      status: 'degraded',
      providers: [{ name: 'primary', lastFailure: { code: '08006' } }, { name: 'fallback' }],
    });
  });

  it('never hedges to a provider whose breaker is open: the next one that may be called is asked', async () => {
    vi.useFakeTimers();
    const { auth, primary, fallback, third } = setup({ hedgeAfterMs: 50 }, { third: true });
    auth.isolate('fallback');
    primary.state.hold = true;
    const pending = auth.authenticate(login);
    await vi.advanceTimersByTimeAsync(50);
    await expect(pending).resolves.toMatchObject({ provider: 'third', degraded: false });
    expect(fallback.state.lookups).toBe(0);
    expect(third.state.lookups).toBe(1);

    auth.isolate('third');
    const alone = auth.authenticate(login);
    await vi.advanceTimersByTimeAsync(100);
    expect(third.state.lookups).toBe(1);
    primary.pending[1]!.answer();
    await expect(alone).resolves.toMatchObject({ provider: 'primary' });
  });

  it('does not start a hedge the deadline leaves no time for', async () => {
    vi.useFakeTimers();
    const { auth, primary, fallback } = setup({ hedgeAfterMs: 500 }, { deadlineMs: 400 });
    primary.state.hold = true;
    const pending = auth.authenticate(login).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1000);
    expect(fallback.state.lookups).toBe(0);
    expect(isAuthUnavailableError(await pending)).toBe(true);
  });

  it("with 'p95', waits for 20 lookups, then hedges after the primary's observed p95", async () => {
    vi.useFakeTimers();
    const { auth, primary, fallback } = setup({ hedgeAfterMs: 'p95' });
    primary.state.hold = true;
    // Latencies are timed on the monotonic clock (fine enough for lookups of a
    // few milliseconds), which the fake timers move: each lookup takes `ms`.
    const lookupTaking = async (ms: number) => {
      const pending = auth.authenticate(login);
      await vi.advanceTimersByTimeAsync(ms);
      primary.pending.at(-1)!.answer();
      await pending;
    };
    // 19 lookups of 1..19 ms: too few, no hedging yet, even for a slow 20th.
    for (let ms = 1; ms < 20; ms++) await lookupTaking(ms);
    await lookupTaking(500);
    expect(fallback.state.lookups).toBe(0);
    // Now 20 lookups of 1..19 and 500 ms: p95 (nearest rank) is 19 ms.
    const second = auth.authenticate(login);
    await vi.advanceTimersByTimeAsync(18);
    expect(fallback.state.lookups).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(fallback.state.lookups).toBe(1);
    await expect(second).resolves.toMatchObject({ provider: 'fallback' });
  });

  it('lets a half-open trial run to its end: it decides the breaker even when the hedge wins', async () => {
    vi.useFakeTimers();
    const { auth, primary, clock, of } = setup({
      hedgeAfterMs: 50,
      breaker: { consecutiveFailures: 1 },
      retry: { maxAttempts: 1 },
      halfOpenAfterMs: 1000,
    });
    primary.state.failWith = pgError('42P01');
    await auth.authenticate(login);
    expect(auth.health().providers[0]!.state).toBe('open');
    clock.advance(1000);
    primary.state.failWith = undefined;
    primary.state.hold = true;
    const pending = auth.authenticate(login);
    await vi.advanceTimersByTimeAsync(50);
    await expect(pending).resolves.toMatchObject({ provider: 'fallback' });
    expect(primary.pending[0]!.signal.aborted).toBe(false);
    primary.pending[0]!.answer();
    await vi.advanceTimersByTimeAsync(0);
    expect(auth.health().providers[0]!.state).toBe('closed');
    expect(of('onLookup')).toContainEqual(
      expect.objectContaining({ provider: 'primary', result: 'found' }),
    );
  });

  it('is refused in federated mode', () => {
    const clock = manualClock();
    const make =
      (policy: PolicyOptions, own: PolicyOptions = {}) =>
      () =>
        createResilientAuth({
          mode: 'federated',
          policy,
          providers: [
            { provider: scripted('a', clock).provider, policy: own },
            scripted('b', clock).provider,
          ],
        });
    expect(make({ hedgeAfterMs: 50 })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', option: 'policy.hedgeAfterMs' }),
    );
    expect(make({}, { hedgeAfterMs: 'p95' })).toThrow(
      expect.objectContaining({ option: 'providers.0.policy.hedgeAfterMs' }),
    );
    expect(make({ hedgeAfterMs: 50 }, { hedgeAfterMs: false })).toThrow();
    expect(() =>
      createResilientAuth({
        mode: 'federated',
        policy: { hedgeAfterMs: false },
        providers: [scripted('a', clock).provider],
      }),
    ).not.toThrow();
  });
});
