import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import {
  type AuthProvider,
  ConfigError,
  createResilientAuth,
  isAuthUnavailableError,
  type MemoryAccount,
  memoryProvider,
  type ResilientAuthOptions,
  type RolloutOptions,
  rollout,
  rolloutBucket,
} from '../../src/index.js';
import { manualClock } from '../../src/testing/index.js';
import {
  fakeHash,
  pgError,
  recordingLogger,
  recordingVerifier,
  thrownBy,
} from '../support/fakes.js';
import { holdLookups, PASSWORD, recordingHooks } from '../support/fixtures.js';

type User = { id: number; email: string };

const NAME = 'users-v2';
const emails = Array.from({ length: 10_000 }, (_, i) => `user-${i}@example.com`);
const inCandidate = (percent: number) => (email: string) => rolloutBucket(NAME, email) <= percent;
/** Users the 10% rollout sends to the candidate, and users it keeps on the control. */
const CANDIDATE_USERS = emails.filter(inCandidate(10)).slice(0, 60);
const CONTROL_USERS = emails.filter((e) => !inCandidate(10)(e)).slice(0, 60);

function accountsOf(list: readonly string[], hash = fakeHash(PASSWORD)): MemoryAccount<User>[] {
  return list.map((email, i) => ({
    identifier: email,
    passwordHash: hash,
    user: { id: i, email },
  }));
}

/** A control and a candidate over the same users, in a rollout of 10% by default. */
function rolloutAuth(
  options: Partial<RolloutOptions<User>> = {},
  extra: Partial<ResilientAuthOptions<User>> = {},
  candidateAccounts: MemoryAccount<User>[] = accountsOf([...CANDIDATE_USERS, ...CONTROL_USERS]),
  controlAccounts: MemoryAccount<User>[] = accountsOf([...CANDIDATE_USERS, ...CONTROL_USERS]),
) {
  const control = memoryProvider<User>({ name: 'control', accounts: controlAccounts });
  const candidate = memoryProvider<User>({ name: 'candidate', accounts: candidateAccounts });
  const verifier = recordingVerifier();
  const recorded = recordingHooks();
  const logger = recordingLogger();
  const clock = manualClock();
  const auth = createResilientAuth<User>({
    providers: rollout<User>({
      name: NAME,
      control: [control],
      candidate: [candidate],
      percent: 10,
      ...options,
    }),
    verifier,
    hooks: recorded.hooks,
    logger,
    clock,
    ...extra,
  });
  return { auth, control, candidate, verifier, logger, clock, ...recorded };
}

const login = (
  auth: { authenticate: (c: { identifier: string; password: string }) => Promise<unknown> },
  identifier: string,
  password = PASSWORD,
) => auth.authenticate({ identifier, password });

/** Lets background shadow work (lookups, comparisons) finish. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('sticky buckets', () => {
  it('puts each of 10,000 identifiers in the bucket Unleash would, the same on every run', () => {
    // Unleash's own cross-client vectors (node, java, go agree on these).
    expect(rolloutBucket('gr1', '123')).toBe(73);
    expect(rolloutBucket('groupX', '999')).toBe(25);
    const buckets = emails.map((email) => rolloutBucket(NAME, email));
    // Pinned: a change of hash, seed or encoding would move users between paths.
    expect(createHash('sha256').update(buckets.join(',')).digest('hex').slice(0, 16)).toBe(
      PINNED_BUCKETS_DIGEST,
    );
    expect(new Set(buckets)).toEqual(new Set(Array.from({ length: 100 }, (_, i) => i + 1)));
  });

  it.each([1, 5, 10, 25, 50, 90])(
    'sends %i percent of 10,000 users to the candidate, within 1 point',
    (percent) => {
      const share = emails.filter(inCandidate(percent)).length / emails.length;
      expect(Math.abs(share * 100 - percent)).toBeLessThanOrEqual(1);
    },
  );

  it('only ever moves users from the control to the candidate when percent grows', () => {
    const at10 = emails.filter(inCandidate(10));
    const at25 = new Set(emails.filter(inCandidate(25)));
    expect(at10.every((email) => at25.has(email))).toBe(true);
  });

  it('routes the same 10,000 logins the same way in two instances, 10% to the candidate', async () => {
    const everyone = accountsOf(emails);
    const paths = async () => {
      const auth = createResilientAuth<User>({
        providers: rollout<User>({
          name: NAME,
          control: [memoryProvider({ name: 'control', accounts: everyone })],
          candidate: [memoryProvider({ name: 'candidate', accounts: everyone })],
          percent: 10,
        }),
        verifier: recordingVerifier(),
      });
      const providers: string[] = [];
      for (const email of emails) {
        const result = await auth.authenticate({ identifier: email, password: PASSWORD });
        providers.push(result.ok ? result.provider : 'refused');
      }
      await auth.close();
      return providers;
    };
    const [first, second] = [await paths(), await paths()];
    expect(second).toEqual(first);
    expect(
      first.every((p, i) => p === (inCandidate(10)(emails[i]!) ? 'candidate' : 'control')),
    ).toBe(true);
    const share = first.filter((p) => p === 'candidate').length / emails.length;
    expect(Math.abs(share * 100 - 10)).toBeLessThanOrEqual(1);
  });

  it('buckets by the identifier in lower case by default, or by the key given', async () => {
    const { auth } = rolloutAuth();
    const user = CANDIDATE_USERS[0]!;
    await expect(login(auth, user.toUpperCase())).resolves.toMatchObject({ provider: 'candidate' });
    const byDomain = rolloutAuth({ key: (identifier) => identifier.split('@')[1]!, percent: 100 });
    for (const email of [...CANDIDATE_USERS.slice(0, 3), ...CONTROL_USERS.slice(0, 3)]) {
      await expect(login(byDomain.auth, email)).resolves.toMatchObject({ provider: 'candidate' });
    }
  });

  it('sends a login to the control when key() returns something other than a string', async () => {
    const { auth, candidate, logger } = rolloutAuth({
      key: () => undefined as unknown as string,
      percent: 100,
    });
    await expect(login(auth, CANDIDATE_USERS[0]!)).resolves.toMatchObject({ provider: 'control' });
    expect(candidate.lookups).toBe(0);
    expect(logger.lines).toEqual([
      expect.objectContaining({
        meta: expect.objectContaining({ error: 'key() returned undefined' }),
      }),
    ]);
  });

  it('sends a login to the control when key() throws, and says so in the log once', async () => {
    const { auth, candidate, logger } = rolloutAuth({
      key: () => {
        throw new Error('tenant lookup failed');
      },
      percent: 100,
    });
    for (const email of CANDIDATE_USERS.slice(0, 3)) {
      await expect(login(auth, email)).resolves.toMatchObject({ ok: true, provider: 'control' });
    }
    expect(candidate.lookups).toBe(0);
    expect(logger.lines).toEqual([
      expect.objectContaining({ level: 'warn', message: expect.stringContaining('key() failed') }),
    ]);
  });
});

describe('live rollout', () => {
  it('lets the candidate decide for its users and the control for the others', async () => {
    const { auth, control, candidate } = rolloutAuth();
    await expect(login(auth, CANDIDATE_USERS[0]!)).resolves.toMatchObject({
      ok: true,
      provider: 'candidate',
      degraded: false,
    });
    await expect(login(auth, CONTROL_USERS[0]!)).resolves.toMatchObject({
      ok: true,
      provider: 'control',
    });
    expect([control.lookups, candidate.lookups]).toEqual([1, 1]);
  });

  it('falls back to the control when the candidate cannot answer, without calling the service degraded', async () => {
    const { auth, candidate, of } = rolloutAuth();
    candidate.fail(pgError('42P01', 'relation "accounts" does not exist'));
    await expect(login(auth, CANDIDATE_USERS[0]!)).resolves.toMatchObject({
      ok: true,
      provider: 'control',
      degraded: false,
    });
    expect(of('onFallback')).toEqual([]);
    expect(of('onDegraded')).toEqual([]);
    expect(of('onProviderFailure')).toEqual([
      expect.objectContaining({ provider: 'candidate', code: '42P01' }),
    ]);
    expect(auth.health()).toMatchObject({
      status: 'healthy',
      rollout: { state: 'active', window: { calls: 1, failures: 1 } },
    });
  });

  it("leaves the service's degraded state to the control: no flapping with mixed traffic", async () => {
    const all = accountsOf([...CANDIDATE_USERS, ...CONTROL_USERS]);
    const primary = memoryProvider<User>({ name: 'primary', accounts: all });
    const fallback = memoryProvider<User>({ name: 'fallback', accounts: all });
    const first = memoryProvider<User>({ name: 'candidate-orm', accounts: all });
    const second = memoryProvider<User>({ name: 'candidate-sql', accounts: all });
    const recorded = recordingHooks();
    const auth = createResilientAuth<User>({
      providers: rollout<User>({
        name: NAME,
        control: [primary, fallback],
        candidate: [first, second],
        percent: 10,
      }),
      verifier: recordingVerifier(),
      hooks: recorded.hooks,
      clock: manualClock(),
      // The control's primary keeps failing: its breaker never opens in this test.
      policy: { breaker: { consecutiveFailures: 1000 }, retry: { maxAttempts: 1 } },
    });
    primary.fail(pgError('57P01'));
    first.fail(pgError('42P01'));
    for (let i = 0; i < 4; i++) {
      await expect(login(auth, CONTROL_USERS[i]!)).resolves.toMatchObject({
        provider: 'fallback',
        degraded: true,
      });
      // Answered by the candidate's own fallback: degraded, but says nothing of the control.
      await expect(login(auth, CANDIDATE_USERS[i]!)).resolves.toMatchObject({
        provider: 'candidate-sql',
        degraded: true,
      });
    }
    expect(recorded.of('onDegraded')).toEqual([
      expect.objectContaining({ primary: 'primary', provider: 'fallback' }),
    ]);
    expect(recorded.of('onRecovered')).toEqual([]);
    expect(recorded.of('onFallback').map((e) => (e as { provider: string }).provider)).toEqual(
      Array(4).fill('fallback'),
    );
    expect(auth.health().status).toBe('degraded');
  });

  it('lists every provider tried, candidate first, when neither chain can answer', async () => {
    const { auth, control, candidate } = rolloutAuth();
    candidate.fail(pgError('08006'));
    control.fail(pgError('57P01'));
    const error = await login(auth, CANDIDATE_USERS[0]!).catch((e: unknown) => e);
    expect(isAuthUnavailableError(error)).toBe(true);
    expect((error as { failures: { provider: string }[] }).failures.map((f) => f.provider)).toEqual(
      ['candidate', 'control'],
    );
  });

  it('rolls a failing candidate back within the window: once, with a hook, in health and in the log', async () => {
    const { auth, candidate, of, logger, clock } = rolloutAuth();
    candidate.fail(pgError('42703', 'column "password_hash" does not exist'));
    for (const email of CANDIDATE_USERS.slice(0, 20)) {
      await expect(login(auth, email)).resolves.toMatchObject({ ok: true, provider: 'control' });
    }
    expect(of('onRollback')).toEqual([
      {
        rollout: NAME,
        reason: 'failure_rate',
        observed: 1,
        threshold: 0.05,
        calls: 20,
        windowMs: 60_000,
      },
    ]);
    expect(auth.health().rollout).toMatchObject({
      state: 'rolled_back',
      rolledBack: { reason: 'failure_rate', observed: 1, threshold: 0.05 },
    });
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([
      expect.objectContaining({
        message: expect.stringContaining(
          `every login takes the control until auth.resumeRollout("${NAME}")`,
        ),
      }),
    ]);
    // Rolled back: the candidate is not asked any more, whatever the bucket, however long after.
    clock.advance(3_600_000);
    const lookups = candidate.lookups;
    await login(auth, CANDIDATE_USERS[30]!);
    expect(candidate.lookups).toBe(lookups);
  });

  it('stays rolled back until resumeRollout(), which starts from an empty window', async () => {
    const { auth, candidate, of, clock } = rolloutAuth();
    candidate.fail(pgError('08006'));
    for (const email of CANDIDATE_USERS.slice(0, 20)) await login(auth, email);
    candidate.recover();
    await expect(login(auth, CANDIDATE_USERS[0]!)).resolves.toMatchObject({ provider: 'control' });
    auth.resumeRollout(NAME);
    expect(of('onRolloutResumed')).toEqual([{ rollout: NAME }]);
    expect(auth.health().rollout).toMatchObject({ state: 'active', window: { calls: 0 } });
    // The candidate's breaker opened meanwhile: its half-open trial lets it back in.
    clock.advance(10_000);
    await expect(login(auth, CANDIDATE_USERS[0]!)).resolves.toMatchObject({
      provider: 'candidate',
    });
    auth.resumeRollout(NAME); // active already: nothing happens
    expect(of('onRolloutResumed')).toHaveLength(1);
  });

  it('does not roll back on failures spread over more than the window', async () => {
    const { auth, candidate, of, clock } = rolloutAuth({ rollback: { windowMs: 10_000 } });
    candidate.fail(pgError('08006'));
    for (const email of CANDIDATE_USERS.slice(0, 15)) await login(auth, email);
    clock.advance(11_000);
    for (const email of CANDIDATE_USERS.slice(15, 30)) await login(auth, email);
    expect(of('onRollback')).toEqual([]);
    expect(auth.health().rollout?.window).toMatchObject({ calls: 15, failures: 15 });
  });

  it('tolerates a failure rate at the threshold and rolls back just above it', async () => {
    const { auth, candidate, of } = rolloutAuth({ rollback: { failureRate: 0.1 } });
    const users = CANDIDATE_USERS.slice(0, 21);
    // 2 failures in 20 calls is 10%: not over.
    for (const [i, email] of users.slice(0, 20).entries()) {
      if (i < 2) candidate.fail(pgError('08006'), 2);
      await login(auth, email);
    }
    expect(of('onRollback')).toEqual([]);
    candidate.fail(pgError('08006'), 2);
    await login(auth, users[20]!);
    expect(of('onRollback')).toEqual([
      expect.objectContaining({ reason: 'failure_rate', calls: 21 }),
    ]);
  });

  it('rolls back once when two thresholds pass at the same call', async () => {
    const { auth, candidate, of } = rolloutAuth({ rollback: { maxP95Ms: 1 } });
    candidate.delay(5);
    candidate.fail(pgError('08006'));
    for (const email of CANDIDATE_USERS.slice(0, 20)) await login(auth, email);
    expect(of('onRollback')).toEqual([expect.objectContaining({ reason: 'failure_rate' })]);
  });

  it('rolls back when more than 5% of candidate calls are slower than maxP95Ms', async () => {
    const { auth, candidate, of } = rolloutAuth({ rollback: { maxP95Ms: 1 } });
    candidate.delay(5);
    for (const email of CANDIDATE_USERS.slice(0, 20)) {
      await expect(login(auth, email)).resolves.toMatchObject({ ok: true, provider: 'candidate' });
    }
    expect(of('onRollback')).toEqual([
      expect.objectContaining({ reason: 'latency', observed: 1, threshold: 0.05 }),
    ]);
  });
});

describe('shadow mode', () => {
  it('answers from the control while a candidate that denies a real user is reported', async () => {
    const denying = accountsOf(
      [...CANDIDATE_USERS, ...CONTROL_USERS],
      fakeHash('another password'),
    );
    const { auth, of, verifier } = rolloutAuth({ shadow: true }, {}, denying);
    const user = CANDIDATE_USERS[0]!;
    await expect(login(auth, user)).resolves.toMatchObject({ ok: true, provider: 'control' });
    await settle();
    expect(of('onShadowMismatch')).toEqual([
      {
        rollout: NAME,
        identifier: user,
        control: { outcome: 'authenticated', provider: 'control', userId: '0' },
        candidate: { outcome: 'invalid_credentials', provider: 'candidate', userId: '0' },
        call: expect.objectContaining({ id: 1 }),
        context: {},
      },
    ]);
    // The candidate's own hash was checked, only on a free thread.
    expect(verifier.waits).toEqual([expect.any(Number), 0]);
    expect(auth.health().rollout?.window).toMatchObject({ compared: 1, mismatches: 1 });
  });

  it('reports a user missing from the candidate, and another user found there', async () => {
    const [first, second] = CANDIDATE_USERS;
    const candidateAccounts: MemoryAccount<User>[] = [
      { identifier: second!, passwordHash: fakeHash(PASSWORD), user: { id: 999, email: second! } },
    ];
    const { auth, of } = rolloutAuth({ shadow: true }, {}, candidateAccounts);
    await login(auth, first!);
    await login(auth, second!);
    await settle();
    expect(of('onShadowMismatch')).toEqual([
      expect.objectContaining({
        identifier: first,
        candidate: { outcome: 'invalid_credentials', provider: 'candidate' },
      }),
      expect.objectContaining({
        identifier: second,
        control: expect.objectContaining({ outcome: 'authenticated', userId: '1' }),
        candidate: expect.objectContaining({ outcome: 'authenticated', userId: '999' }),
      }),
    ]);
  });

  it('reports a candidate that would let in a disabled account', async () => {
    const user = CANDIDATE_USERS[0]!;
    const { auth, of } = rolloutAuth({ shadow: true }, {}, accountsOf([user]), [
      { ...accountsOf([user])[0]!, active: false },
    ]);
    await expect(login(auth, user)).resolves.toEqual({ ok: false, reason: 'account_disabled' });
    await settle();
    expect(of('onShadowMismatch')).toEqual([
      expect.objectContaining({
        control: expect.objectContaining({ outcome: 'account_disabled' }),
        candidate: expect.objectContaining({ outcome: 'authenticated' }),
      }),
    ]);
  });

  it('writes nothing for the candidate: one onAttempt, no rehash, the same hash checked once', async () => {
    const { auth, of, verifier } = rolloutAuth({ shadow: true, percent: 100 });
    for (const email of [...CANDIDATE_USERS.slice(0, 5), ...CONTROL_USERS.slice(0, 5)]) {
      await expect(login(auth, email)).resolves.toMatchObject({ ok: true, provider: 'control' });
    }
    await login(auth, CANDIDATE_USERS[6]!, 'wrong password');
    await settle();
    expect(of('onAttempt')).toHaveLength(11);
    expect(of('onAttempt').every((e) => (e as { provider: string }).provider === 'control')).toBe(
      true,
    );
    expect(of('onShadowMismatch')).toEqual([]);
    expect(of('onRehash')).toEqual([]);
    const lookups = of('onLookup') as { provider: string; shadow?: string }[];
    expect(lookups.filter((e) => e.provider === 'candidate').every((e) => e.shadow === NAME)).toBe(
      true,
    );
    expect(lookups.filter((e) => e.provider === 'control').some((e) => 'shadow' in e)).toBe(false);
    expect(lookups).toHaveLength(22);
    // Hashes equal on both sides: the control's check stands for the candidate's.
    expect(verifier.calls).toHaveLength(11);
    expect(auth.health().rollout?.window).toMatchObject({ calls: 11, compared: 11, mismatches: 0 });
  });

  it('never lets the candidate count against the throttle', async () => {
    // A per-IP limit, which a success does not reset: had the candidate's
    // refusals been counted, the third login would be rate_limited.
    const { auth } = rolloutAuth(
      { shadow: true, percent: 100 },
      { throttle: { ip: { limit: 2 } } },
      [],
    );
    const credentials = {
      identifier: CANDIDATE_USERS[0]!,
      password: PASSWORD,
      context: { ip: '203.0.113.9' },
    };
    // The candidate refuses every time (it has no accounts); the control grants.
    for (let i = 0; i < 4; i++) {
      await expect(auth.authenticate(credentials)).resolves.toMatchObject({ ok: true });
      await settle();
    }
    // The limit itself works: two wrong passwords from that address use it up.
    await auth.authenticate({ ...credentials, password: 'wrong' });
    await auth.authenticate({ ...credentials, password: 'wrong' });
    await expect(auth.authenticate(credentials)).resolves.toMatchObject({ reason: 'rate_limited' });
  });

  it('does not wait for a hanging candidate, and counts it as failed after its own timeout', async () => {
    const { auth, candidate, of, logger } = rolloutAuth({ shadow: true, shadowTimeoutMs: 20 });
    const held = holdLookups(candidate);
    await expect(login(auth, CANDIDATE_USERS[0]!)).resolves.toMatchObject({
      ok: true,
      provider: 'control',
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(auth.health().rollout?.window).toMatchObject({ calls: 1, failures: 1, compared: 0 });
    // Marked as the shadow's, so that alerts can tell it from a real lookup's.
    expect(of('onProviderFailure')).toEqual([
      expect.objectContaining({ provider: 'candidate', code: 'DEADLINE_EXCEEDED', shadow: NAME }),
    ]);
    // A candidate that could not answer is counted, not compared: nothing to log.
    expect(logger.lines).toEqual([]);
    held.release();
    await auth.close();
  });

  it('close() waits for a shadow comparison up to its own timeout, beyond the deadline', async () => {
    vi.useFakeTimers();
    try {
      const { auth, candidate } = rolloutAuth(
        { shadow: true, shadowTimeoutMs: 20_000 },
        { deadlineMs: 100, policy: { timeoutMs: 30_000 } },
      );
      const held = holdLookups(candidate);
      await login(auth, CANDIDATE_USERS[0]!);
      let closed = false;
      const closing = auth.close().then(() => {
        closed = true;
      });
      // Past the deadline and the verification allowance: the shadow is still running.
      await vi.advanceTimersByTimeAsync(6_000);
      expect(closed).toBe(false);
      held.release();
      await vi.advanceTimersByTimeAsync(0);
      await closing;
      expect(auth.health().rollout?.window).toMatchObject({ calls: 1, failures: 0 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('rolls back on a mismatch rate over its threshold, and stops shadowing', async () => {
    const { auth, candidate, of, logger } = rolloutAuth({ shadow: true, percent: 100 }, {}, []);
    for (const email of CANDIDATE_USERS.slice(0, 20)) await login(auth, email);
    await settle();
    expect(of('onRollback')).toEqual([
      expect.objectContaining({ reason: 'mismatch_rate', observed: 1, threshold: 0.01, calls: 20 }),
    ]);
    expect(logger.lines.map((l) => l.message)).toEqual([
      `rollout "${NAME}" rolled back: shadow mismatch rate 100.0% > 1.0% over the last 60000 ms (20 comparisons); every login takes the control until auth.resumeRollout("${NAME}")`,
    ]);
    const lookups = candidate.lookups;
    await login(auth, CANDIDATE_USERS[25]!);
    expect(candidate.lookups).toBe(lookups);
  });

  it("checks a candidate hash that differs from the control's, and agrees when it matches", async () => {
    // The new store holds another hash of the same password (rehashed on copy).
    const rehashed = accountsOf(CANDIDATE_USERS, `fake2$${PASSWORD}`);
    const verifier = {
      ...recordingVerifier(),
      isWellFormed: (hash: string) => /^fake2?\$/.test(hash),
      verify: async (password: string, hash: string) =>
        hash === fakeHash(password) || hash === `fake2$${password}`,
    };
    const { auth, of } = rolloutAuth({ shadow: true }, { verifier }, rehashed);
    await login(auth, CANDIDATE_USERS[0]!);
    await login(auth, CANDIDATE_USERS[1]!, 'wrong password');
    await settle();
    expect(of('onShadowMismatch')).toEqual([]);
    expect(auth.health().rollout?.window).toMatchObject({ compared: 2, mismatches: 0 });
  });

  it('skips the comparison when no verifier thread is free for the candidate check', async () => {
    const base = recordingVerifier();
    const verifier = {
      ...base,
      verify: async (password: string, hash: string, options?: { maxWaitMs?: number }) => {
        if (options?.maxWaitMs === 0)
          throw Object.assign(new Error('busy'), { code: 'OVERLOADED' });
        return base.verify(password, hash, options);
      },
    };
    const denying = accountsOf(CANDIDATE_USERS, fakeHash('another password'));
    const { auth, of, logger } = rolloutAuth({ shadow: true }, { verifier }, denying);
    await expect(login(auth, CANDIDATE_USERS[0]!)).resolves.toMatchObject({ ok: true });
    await settle();
    expect(of('onShadowMismatch')).toEqual([]);
    expect(auth.health().rollout?.window).toMatchObject({ calls: 1, compared: 0 });
    expect(logger.lines).toEqual([]);
  });

  it('reports what the candidate would answer for a malformed hash and a locked account', async () => {
    const [malformed, locked] = CANDIDATE_USERS;
    const candidateAccounts = [
      { ...accountsOf([malformed!])[0]!, passwordHash: 'not a hash' },
      { ...accountsOf([locked!])[0]!, lockedUntil: new Date(Date.UTC(2030, 0, 1)) },
    ];
    const { auth, of } = rolloutAuth(
      { shadow: true, rollback: { mismatchRate: 1 } },
      {},
      candidateAccounts,
    );
    await login(auth, malformed!);
    await login(auth, locked!);
    await settle();
    expect(
      of('onShadowMismatch').map(
        (e) => (e as { candidate: { outcome: string } }).candidate.outcome,
      ),
    ).toEqual(['invalid_credentials', 'account_locked']);
  });

  it('logs a comparison that fails (a userId that throws) and leaves the login alone', async () => {
    const { auth, of, logger } = rolloutAuth({
      shadow: true,
      userId: () => {
        throw new Error('no id on this user');
      },
    });
    await expect(login(auth, CANDIDATE_USERS[0]!)).resolves.toMatchObject({
      ok: true,
      provider: 'control',
    });
    await settle();
    expect(of('onShadowMismatch')).toEqual([]);
    expect(logger.lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        message: `rollout "${NAME}": shadow comparison failed; login unaffected`,
      }),
    ]);
  });

  it('compares nothing when the control could not answer, and still throws', async () => {
    const { auth, control, of } = rolloutAuth({ shadow: true, percent: 100 });
    control.fail(pgError('08006'));
    await expect(login(auth, CANDIDATE_USERS[0]!)).rejects.toSatisfy(isAuthUnavailableError);
    await settle();
    expect(of('onShadowMismatch')).toEqual([]);
    expect(auth.health().rollout?.window).toMatchObject({ calls: 1, failures: 0, compared: 0 });
  });

  it('puts no password and no hash in any event or log line', async () => {
    const denying = accountsOf([...CANDIDATE_USERS], fakeHash('candidate secret'));
    const { auth, events, logger } = rolloutAuth({ shadow: true, percent: 100 }, {}, denying);
    for (const email of CANDIDATE_USERS.slice(0, 25)) await login(auth, email);
    await settle();
    const text = JSON.stringify([events, logger.lines]);
    expect(events.some((e) => e.hook === 'onShadowMismatch')).toBe(true);
    for (const secret of [PASSWORD, fakeHash(PASSWORD), 'candidate secret']) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('rollout options', () => {
  const control: AuthProvider<User> = memoryProvider<User>({ name: 'control', accounts: [] });
  const candidate: AuthProvider<User> = memoryProvider<User>({ name: 'candidate', accounts: [] });
  const base = { name: NAME, control: [control], candidate: [candidate], percent: 10 };

  it.each([
    [{ percent: 101 }, 'rollout.percent'],
    [{ percent: 2.5 }, 'rollout.percent'],
    [{ percent: -1 }, 'rollout.percent'],
    [{ name: 'has spaces' }, 'rollout.name'],
    [{ candidate: [] }, 'rollout.candidate'],
    [{ shadowTimeoutMs: 0 }, 'rollout.shadowTimeoutMs'],
    [{ rollback: { failureRate: 0 } }, 'rollout.rollback.failureRate'],
    [{ rollback: { maxP95ms: 5 } }, 'rollout.rollback'],
    [{ key: 'email' }, 'rollout.key'],
  ])('refuses %j naming %s', (bad, option) => {
    const error = thrownBy(() => rollout({ ...base, ...(bad as object) } as RolloutOptions<User>));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ option });
  });

  it('checks the providers of both chains with the other options, naming the chain', () => {
    const broken = { name: 'broken' } as unknown as AuthProvider<User>;
    expect(
      thrownBy(() => createResilientAuth({ providers: rollout({ ...base, candidate: [broken] }) })),
    ).toMatchObject({
      option: 'providers.candidate.0.findAccount',
    });
    const twice = memoryProvider<User>({ name: 'control', accounts: [] });
    expect(
      thrownBy(() => createResilientAuth({ providers: rollout({ ...base, candidate: [twice] }) })),
    ).toMatchObject({
      option: 'providers.candidate.0.name',
      message: expect.stringContaining('unique across both chains'),
    });
  });

  it('refuses a providers object that is neither a list nor a rollout', () => {
    const notARollout = { name: NAME, control: [control], candidate: [candidate], percent: 10 };
    expect(
      thrownBy(() =>
        createResilientAuth({ providers: notARollout as unknown as AuthProvider<User>[] }),
      ),
    ).toMatchObject({ option: 'providers' });
  });

  it('refuses resumeRollout() of a rollout it does not have', () => {
    const withRollout = createResilientAuth({
      providers: rollout(base),
      verifier: recordingVerifier(),
    });
    expect(thrownBy(() => withRollout.resumeRollout('users-v3'))).toMatchObject({
      option: 'name',
      message: expect.stringContaining('have: users-v2'),
    });
    const without = createResilientAuth({ providers: [control], verifier: recordingVerifier() });
    expect(thrownBy(() => without.resumeRollout(NAME))).toBeInstanceOf(ConfigError);
  });

  it('shows the rollout and its candidate providers in health()', () => {
    const auth = createResilientAuth({
      providers: rollout({
        ...base,
        candidate: [{ provider: candidate, policy: { timeoutMs: 200 } }],
        shadow: true,
      }),
      verifier: recordingVerifier(),
    });
    const health = auth.health();
    expect(health.providers.map((p) => p.name)).toEqual(['control', 'candidate']);
    expect(health.rollout).toEqual({
      name: NAME,
      percent: 10,
      shadow: true,
      state: 'active',
      candidate: ['candidate'],
      window: { calls: 0, failures: 0, slowCalls: 0, compared: 0, mismatches: 0, windowMs: 60_000 },
    });
  });
});

const PINNED_BUCKETS_DIGEST = '588479af861998c1';
