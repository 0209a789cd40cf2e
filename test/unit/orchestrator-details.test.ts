/**
 * The details that operators, hooks and integrations read: exact messages,
 * durations, event fields, configuration errors, and the boundaries of the
 * retry and breaker rules. Most of these tests were written against mutants
 * that `npm run mutation` showed surviving.
 *
 * Mutants of src/orchestrator that still survive, each checked by hand (line
 * numbers of commit daaa40f; the issue-7 ones at the end):
 *
 * Static mutants, which Stryker 9.6's vitest runner does not activate. They
 * sit in values built once when a module loads; the runner switches mutants
 * per test but never re-imports the module, so they report as survived.
 * Applied by hand, each fails tests here or in lifecycle.test.ts / hooks.test.ts:
 * - provider-slot.ts, the SKIPPED table (lines 44-50): its codes and texts
 *   ("says why each skipped provider was not called", "says when the
 *   deadline passed...").
 * - options.ts, `inPlace` (155), its `'custom'` issue codes (158, 162), the
 *   PROVIDER_NAME regex (184), the clock and logger schemas (246, 247), the
 *   message passed to zod at load (240) and the mode enum (241): see
 *   "configuration errors name the option..." below.
 *
 * Type-level only:
 * - options.ts, the three `true satisfies SameKeys<...>` lines (129, 146,
 *   251): `false` fails `tsc`, which CI runs; nothing happens at run time.
 *
 * Equivalent: no input can tell them from the original.
 * - options.ts:311, :313: branches for inputs zod never gives (a failed
 *   parse without issues; a union issue without branches).
 * - create-resilient-auth.ts:95 `{ logger }` -> `{}`: the default verifier's
 *   logger speaks only when worker threads cannot start; password.test.ts
 *   checks that path on bcryptVerifier itself.
 * - credential-decision.ts:66 `account === null` -> `false`: a null account
 *   always has the cause `unknown_identifier`, so the next clause denies.
 * - credential-decision.ts:139 `lockedUntil === null` -> `false`:
 *   `new Date(null)` is the epoch, never in the future: not locked either way.
 * - credentials.ts:48 `'utf8'` -> `''`: Buffer.byteLength's default
 *   encoding is UTF-8.
 * - credentials.ts:54 `issues[0]?.path` -> `issues[0].path`: a failed parse
 *   always has an issue.
 * - options.ts:172 (the default list of optional members) and :285 (the
 *   default hook sets): a name no object defines, a set of no hooks.
 * - options.ts:221 `o !== Object.prototype` -> `true`: Object.prototype has
 *   no member named like a hook.
 * - provider-chain.ts:76 `notFoundBy !== undefined` -> `true` and :87
 *   `mode === 'federated'` -> `true`: with no failure the loop ends only
 *   after a federated "not found", and failover never sets `notFoundBy`.
 * - provider-slot.ts:156, `<` -> `<=`: the two times are equal only at one
 *   instant, where either answer is right (the provider had its time, less 5 ms).
 * - provider-slot.ts:160 `failure !== undefined` -> `true`: before the first
 *   attempt the chain has just checked skipReason(), with no await between.
 * - provider-slot.ts:192 `!check` -> `false`: check() never probes a provider
 *   without check().
 * - provider-slot.ts:209, :211 the probe failure's attempts and duration:
 *   health and check() show a probe failure's message, code and kind, and
 *   check() times the probe itself.
 * - provider-slot.ts:254, :257 parts of the answer check: `null` passes the
 *   object test anyway, `typeof undefined` is already not 'object', and the
 *   message's `typeof undefined` reads 'undefined' too.
 * - provider-slot.ts:294 `minimumRps === undefined` -> `false`: cockatiel's
 *   SamplingBreaker treats `minimumRps: undefined` as absent.
 * - provider-slot.ts:301 `next === current` -> `false` and :302 `state ===
 *   Open` -> `true`: cockatiel emits a state only when it changes, and
 *   `openedAtMs` is read only while the breaker is open.
 * - serving-state.ts:29 `'degraded'` -> `''`: the label is only compared
 *   with itself; any distinct value behaves the same.
 *
 * Issue 7 (throttle, shedding, rehash, NFKC), after its run (orchestrator
 * 93.1%) and the tests written against it in password-upgrades.test.ts:
 * - static: the module-level MATCHED / MISMATCHED / MATCHED_UNNORMALIZED,
 *   REHASH_WAIT and DUMMY_VOTES_HALVED_AT in credential-decision.ts, and
 *   UNTHROTTLED in create-resilient-auth.ts.
 * - equivalent: `error instanceof Error` before CHECKED_AND_REFUSED.add (only
 *   AuthUnavailableErrors reach it); the initial `'uncounted'` outcome (the
 *   throttle gives back every point for any outcome but failure and
 *   success); `count < 2` when halving dummy votes (a count of 1 halves to 0
 *   either way).
 * - not observable here: `{ what: 'throttle', run }` in close() (the
 *   throttle's own close() is tested in throttle.test.ts and the PostgreSQL
 *   store's timers are unref'd), and the durationMs of a throttled event.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type AuthProvider,
  createResilientAuth,
  isAuthUnavailableError,
  isConfigError,
  memoryProvider,
  ResilientAuthError,
} from '../../src/index.js';
import { manualClock } from '../../src/testing/index.js';
import { fakeHash, pgError, recordingLogger, recordingVerifier } from '../support/fakes.js';
import {
  ADA,
  accounts,
  closeRecordingAuth,
  holdLookups,
  PASSWORD,
  recordingHooks,
  slowFailure,
  twoProviders,
} from '../support/fixtures.js';

const login = { identifier: 'ada@example.com', password: PASSWORD };
// One failure opens the breaker; a trial may go through a second later.
const opensAtOnce = {
  breaker: { consecutiveFailures: 1 },
  retry: { maxAttempts: 1 },
  halfOpenAfterMs: 1000,
};

// The console guard's afterEach restores spies (Math.random below).
afterEach(() => {
  vi.useRealTimers();
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('what operators read: messages', () => {
  it('says why each skipped provider was not called', async () => {
    const { auth, primary, fallback, clock } = twoProviders({
      policy: opensAtOnce,
    });
    auth.isolate('fallback');
    primary.fail(pgError('08006'));
    await rejection(auth.authenticate(login));
    const open = await rejection(auth.authenticate(login));
    expect(
      isAuthUnavailableError(open) && open.failures.map((f) => [f.skipped, f.code, f.message]),
    ).toEqual([
      [
        'circuit_open',
        'CIRCUIT_OPEN',
        'provider "primary" skipped: circuit breaker open (last failure code 08006)',
      ],
      ['isolated', 'CIRCUIT_OPEN', 'provider "fallback" skipped: isolated by an operator'],
    ]);

    // While the half-open trial is in flight, others skip the provider.
    clock.advance(1000);
    primary.recover();
    primary.hang();
    void auth.authenticate(login).catch(() => undefined);
    await vi.waitFor(() => expect(auth.health().providers[0]?.state).toBe('half-open'));
    const trial = await rejection(auth.authenticate(login));
    expect(isAuthUnavailableError(trial) && trial.failures[0]).toMatchObject({
      skipped: 'half_open_trial_in_flight',
      code: 'CIRCUIT_OPEN',
      kind: 'circuit_open',
      message:
        'provider "primary" skipped: circuit breaker half-open, its trial call in flight (last failure code 08006)',
    });
    expect(fallback.lookups).toBe(0);
  });

  it('says when the deadline passed before a provider could be asked', async () => {
    vi.useFakeTimers();
    const { auth, primary } = twoProviders({ deadlineMs: 100, policy: { timeoutMs: 100 } });
    primary.hang();
    const pending = rejection(auth.authenticate(login));
    await vi.advanceTimersByTimeAsync(100);
    const error = await pending;
    expect(isAuthUnavailableError(error) && error.failures.map((f) => f.message)).toEqual([
      'provider "primary" did not answer within 100 ms',
      'provider "fallback" skipped: deadline passed before it could be asked',
    ]);
    expect(isAuthUnavailableError(error) && error.message).toBe(
      'no provider could answer (primary: PROVIDER_TIMEOUT provider "primary" did not answer within 100 ms -> the path is slow or hung: check the database load and the network; fallback: DEADLINE_EXCEEDED provider "fallback" skipped: deadline passed before it could be asked -> the path is slow or hung: check the database load and the network)',
    );
  });

  it('names the cut of a provider that had the whole deadline without blaming earlier ones', async () => {
    vi.useFakeTimers();
    const { auth, primary } = twoProviders({ deadlineMs: 100, policy: { timeoutMs: 1000 } });
    primary.hang();
    const pending = rejection(auth.authenticate(login));
    await vi.advanceTimersByTimeAsync(100);
    const error = await pending;
    expect(isAuthUnavailableError(error) && error.failures[0]?.message).toBe(
      'provider "primary" was cut off by the 100 ms deadline',
    );
  });

  it('leads a federated outage with "no provider could answer" when no store answered at all', async () => {
    const { auth, primary, fallback } = twoProviders({ mode: 'federated' });
    primary.fail(pgError('08006', 'connection failure'));
    fallback.fail(pgError('08006', 'connection failure'));
    const error = await rejection(auth.authenticate(login));
    expect(isAuthUnavailableError(error) && error.message).toMatch(
      /^no provider could answer \(primary: 08006 /,
    );
  });

  it('a failure without a code says "error" in the message and has no code in health()', async () => {
    const { auth, primary, fallback } = twoProviders({ policy: { retry: { maxAttempts: 1 } } });
    primary.fail(new Error('socket hang up'));
    fallback.fail(new Error('socket hang up'));
    const error = await rejection(auth.authenticate(login));
    expect(isAuthUnavailableError(error) && error.message).toContain(
      'primary: error socket hang up ->',
    );
    expect(auth.health().providers[0]?.lastFailure).toStrictEqual({
      message: 'socket hang up',
      kind: 'other',
      hint: 'see the error and its cause',
      at: expect.any(Date),
    });
  });

  it('names the check that timed out', async () => {
    const { auth, primary } = twoProviders({ policy: { timeoutMs: 20 } });
    primary.hang();
    const report = await auth.check();
    expect(report.providers[0]?.error?.message).toBe(
      'provider "primary" check did not answer within 20 ms',
    );
  });

  it('says what to call after close(), and which provider is unknown', async () => {
    const { auth } = twoProviders();
    let unknown: unknown;
    try {
      auth.reset('orm');
    } catch (error) {
      unknown = error;
    }
    expect(isConfigError(unknown) && unknown.option).toBe('name');
    await auth.close();
    await expect(auth.authenticate(login)).rejects.toMatchObject({
      code: 'CLOSED',
      message: 'authenticate() called after close()',
    });
  });

  it('reports a verifier whose close() fails, by name', async () => {
    const logger = recordingLogger();
    const verifier = recordingVerifier();
    const auth = createResilientAuth({
      providers: [memoryProvider({ accounts: [] })],
      verifier: {
        ...verifier,
        close: async () => {
          throw new Error('threads stuck');
        },
      },
      logger,
    });
    await auth.close();
    expect(logger.lines).toEqual([
      {
        level: 'warn',
        message: 'closing password verifier failed',
        meta: { error: 'threads stuck' },
      },
    ]);
  });
});

describe('what hooks read: event fields and durations', () => {
  it('times each call, failure and probe on the monotonic clock', async () => {
    vi.useFakeTimers();
    // Away from 0, so that a sum of two readings cannot pass for their difference.
    await vi.advanceTimersByTimeAsync(10_000);
    const recorded = recordingHooks();
    const { auth, primary, fallback } = twoProviders({
      hooks: recorded.hooks,
      policy: { timeoutMs: 300, retry: { maxAttempts: 1 } },
    });
    primary.hang();
    fallback.delay(50);
    const served = auth.authenticate({ ...login, context: { ip: '198.51.100.7' } });
    await vi.advanceTimersByTimeAsync(350);
    await served;
    expect(recorded.of('onProviderFailure')).toEqual([
      expect.objectContaining({
        provider: 'primary',
        code: 'PROVIDER_TIMEOUT',
        durationMs: 300,
        attempt: 1,
      }),
    ]);
    expect(recorded.of('onAttempt')).toEqual([
      expect.objectContaining({
        outcome: 'authenticated',
        durationMs: 350,
        degraded: true,
        context: { ip: '198.51.100.7' },
      }),
    ]);

    fallback.hang();
    const failed = rejection(auth.authenticate(login));
    await vi.advanceTimersByTimeAsync(600);
    const error = await failed;
    expect(isAuthUnavailableError(error) && error.failures.map((f) => f.durationMs)).toEqual([
      300, 300,
    ]);
    expect(recorded.of('onUnavailable')).toEqual([
      {
        identifier: login.identifier,
        failures: [
          expect.objectContaining({ provider: 'primary', durationMs: 300 }),
          expect.objectContaining({ provider: 'fallback', durationMs: 300 }),
        ],
        durationMs: 600,
        call: { id: 2 },
        context: {},
      },
    ]);

    fallback.recover();
    fallback.delay(40);
    const probing = auth.check();
    await vi.advanceTimersByTimeAsync(300);
    const report = await probing;
    expect(report.providers.map((p) => p.durationMs)).toEqual([300, 40]);
  });

  it('puts identifier and provider into rejection events only when there are some', async () => {
    vi.useFakeTimers();
    const recorded = recordingHooks();
    const { auth, primary } = twoProviders({ hooks: recorded.hooks });
    primary.delay(25);
    const wrong = auth.authenticate({ identifier: 'ada@example.com', password: 'wrong' });
    await vi.advanceTimersByTimeAsync(25);
    await wrong;
    await auth.authenticate({ identifier: '', password: 'x' });
    const [wrongPassword, invalid] = recorded.of('onAttempt');
    expect(wrongPassword).toStrictEqual({
      outcome: 'rejected',
      cause: 'wrong_password',
      identifier: 'ada@example.com',
      provider: 'primary',
      degraded: false,
      durationMs: 25,
      call: { id: 1 },
      context: {},
    });
    expect(invalid).toStrictEqual({
      outcome: 'rejected',
      cause: 'invalid_input',
      degraded: false,
      durationMs: 0,
      call: { id: 2 },
      context: {},
    });
  });

  it('reports a locked account with its cause', async () => {
    const recorded = recordingHooks();
    const clock = manualClock();
    const auth = createResilientAuth({
      providers: [
        memoryProvider({
          accounts: [
            {
              identifier: 'ada@example.com',
              passwordHash: fakeHash(PASSWORD),
              user: ADA,
              lockedUntil: new Date(clock.now() + 1000),
            },
          ],
        }),
      ],
      verifier: recordingVerifier(),
      hooks: recorded.hooks,
      clock,
    });
    await auth.authenticate(login);
    expect(recorded.of('onAttempt')).toEqual([
      expect.objectContaining({ cause: 'account_locked' }),
    ]);
  });

  it('a lookup without lockedUntil is not locked', async () => {
    const provider: AuthProvider = {
      name: 'bare',
      findAccount: async () => ({
        user: { id: 1 },
        passwordHash: fakeHash(PASSWORD),
        active: true,
      }),
    };
    const auth = createResilientAuth({ providers: [provider], verifier: recordingVerifier() });
    await expect(auth.authenticate(login)).resolves.toMatchObject({ ok: true });
  });
});

describe('the password verifier under the decision', () => {
  it('never grants on a malformed or dummy hash, whatever the verifier says', async () => {
    const verifier = recordingVerifier();
    verifier.verify = async () => true;
    const provider: AuthProvider = {
      name: 'broken-data',
      findAccount: async (identifier) =>
        identifier === 'ada@example.com'
          ? { user: {}, passwordHash: 'not-a-hash', active: true }
          : null,
    };
    const auth = createResilientAuth({ providers: [provider], verifier });
    await expect(auth.authenticate(login)).resolves.toEqual({
      ok: false,
      reason: 'invalid_credentials',
    });
    await expect(
      auth.authenticate({ ...login, identifier: 'nobody@example.com' }),
    ).resolves.toEqual({
      ok: false,
      reason: 'invalid_credentials',
    });
  });

  it('wraps a verifier error in VERIFIER_FAILED, and keeps a VERIFIER_FAILED error as it is', async () => {
    vi.useFakeTimers();
    await vi.advanceTimersByTimeAsync(10_000);
    const recorded = recordingHooks();
    const { auth, verifier, primary } = twoProviders({ hooks: recorded.hooks });
    primary.delay(10);
    verifier.verify = async () => {
      throw new Error('worker died');
    };
    const plain = rejection(auth.authenticate({ ...login, context: { requestId: 'r-9' } }));
    await vi.advanceTimersByTimeAsync(10);
    const wrapped = await plain;
    expect(isAuthUnavailableError(wrapped) && wrapped.failures).toEqual([
      expect.objectContaining({
        provider: 'password-verifier',
        code: 'VERIFIER_FAILED',
        message: 'password verification failed: worker died',
        attempts: 1,
        durationMs: 10,
      }),
    ]);
    const raw = isAuthUnavailableError(wrapped) ? wrapped.failures[0]?.error : undefined;
    expect(raw).toMatchObject({ code: 'VERIFIER_FAILED', cause: { message: 'worker died' } });
    expect(recorded.of('onUnavailable')).toEqual([
      {
        identifier: login.identifier,
        failures: [
          expect.objectContaining({ provider: 'password-verifier', code: 'VERIFIER_FAILED' }),
        ],
        durationMs: 10,
        call: { id: 1 },
        context: { requestId: 'r-9' },
      },
    ]);

    primary.recover();
    verifier.verify = async () => {
      throw new ResilientAuthError(
        'VERIFIER_FAILED',
        'password verification queue is full (2 waiting)',
      );
    };
    const typed = await rejection(auth.authenticate(login));
    expect(isAuthUnavailableError(typed) && typed.message).toBe(
      'password verification queue is full (2 waiting)',
    );

    // Shed for overload: OVERLOADED stays itself (kind overloaded), so adapters answer 503.
    verifier.verify = async () => {
      throw new ResilientAuthError('OVERLOADED', 'no verifier thread free within 0 ms');
    };
    const shed = await rejection(auth.authenticate(login));
    expect(isAuthUnavailableError(shed) && shed.failures).toEqual([
      expect.objectContaining({
        provider: 'password-verifier',
        code: 'OVERLOADED',
        kind: 'overloaded',
        transient: false,
      }),
    ]);

    // Another library error (a verifier closed under the call) is still VERIFIER_FAILED.
    verifier.verify = async () => {
      throw new ResilientAuthError('CLOSED', 'the password verifier is closed');
    };
    const closed = await rejection(auth.authenticate(login));
    expect(isAuthUnavailableError(closed) && closed.failures[0]).toMatchObject({
      code: 'VERIFIER_FAILED',
      message: 'password verification failed: the password verifier is closed',
    });
  });
});

describe('answers and signals', () => {
  it('an answer that is not an object or null is INVALID_ANSWER, naming its type', async () => {
    const odd = { name: 'odd', findAccount: async () => 42 as unknown as null };
    const { auth } = twoProviders({ providers: [odd] });
    const error = await rejection(auth.authenticate(login));
    expect(isAuthUnavailableError(error) && error.failures[0]?.message).toBe(
      'provider "odd" answered number: findAccount must resolve an account, or null for "no such account"',
    );
  });

  it('a check() that throws instead of rejecting is a failed probe, not a crash', async () => {
    const { auth } = twoProviders({
      providers: [
        {
          name: 'sync-check',
          findAccount: async () => null,
          check: (): Promise<void> => {
            throw pgError('28P01', 'password authentication failed for user "app"');
          },
        },
      ],
    });
    const report = await auth.check();
    expect(report.providers[0]).toMatchObject({
      ok: false,
      error: { code: '28P01', kind: 'authentication' },
    });
  });

  it('a provider that throws instead of rejecting could not answer: the next one is asked', async () => {
    const thrower = {
      name: 'thrower',
      findAccount: (): Promise<null> => {
        throw pgError('42P01', 'relation "users" does not exist');
      },
    };
    const fallback = memoryProvider({ name: 'fallback', accounts });
    const { auth, of } = twoProviders({ providers: [thrower, fallback] });
    await expect(auth.authenticate(login)).resolves.toMatchObject({
      ok: true,
      provider: 'fallback',
    });
    expect(fallback.lookups).toBe(1);
    expect(of('onProviderFailure')).toEqual([
      expect.objectContaining({ provider: 'thrower', code: '42P01', kind: 'schema' }),
    ]);
  });

  it('the same signal on every read, already aborted when read after the timeout', async () => {
    vi.useFakeTimers();
    const contexts: { signal: AbortSignal }[] = [];
    const { auth, primary } = twoProviders({ policy: { timeoutMs: 50 } });
    primary.findAccount = (_identifier, ctx) => {
      contexts.push(ctx);
      return new Promise(() => undefined);
    };
    const pending = auth.authenticate(login);
    await vi.advanceTimersByTimeAsync(50);
    await pending;
    const ctx = contexts[0];
    expect(ctx?.signal).toBe(ctx?.signal);
    expect(ctx?.signal.aborted).toBe(true);
    expect(ctx?.signal.reason).toMatchObject({ code: 'PROVIDER_TIMEOUT' });
  });
});

describe('the boundaries of retry and the breaker', () => {
  it('backs off half of base, then half of twice base, at the bottom of the jitter', async () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { auth, primary } = twoProviders({
      policy: { retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000 } },
    });
    primary.fail(pgError('ECONNRESET'), 2);
    const pending = auth.authenticate(login);
    await vi.advanceTimersByTimeAsync(49);
    expect(primary.lookups).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(primary.lookups).toBe(2);
    await vi.advanceTimersByTimeAsync(99);
    expect(primary.lookups).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    await expect(pending).resolves.toMatchObject({ provider: 'primary' });
    expect(primary.lookups).toBe(3);
  });

  it.each([
    [55, 1, false],
    [56, 2, true],
  ])(
    'with %d ms left and a 50 ms backoff, makes %d attempt(s): a retry needs 5 ms after its backoff',
    async (deadlineMs, attempts, willRetry) => {
      vi.useFakeTimers();
      vi.spyOn(Math, 'random').mockReturnValue(0);
      const recorded = recordingHooks();
      const { auth, primary } = twoProviders({
        deadlineMs,
        hooks: recorded.hooks,
        policy: { retry: { maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 100 } },
      });
      primary.fail(pgError('ECONNRESET'), 1);
      const pending = auth.authenticate(login);
      await vi.advanceTimersByTimeAsync(50);
      await pending;
      expect(primary.lookups).toBe(attempts);
      expect(recorded.of('onProviderFailure')[0]).toMatchObject({ willRetry });
    },
  );

  it('counts even a shortened cut during a half-open trial: the trial failed', async () => {
    vi.useFakeTimers();
    const earlier = slowFailure(90);
    const target = memoryProvider({ name: 'target', accounts });
    const clock = manualClock();
    const auth = createResilientAuth({
      providers: [{ provider: earlier, policy: { breaker: { consecutiveFailures: 100 } } }, target],
      deadlineMs: 100,
      policy: { timeoutMs: 1000, breaker: { consecutiveFailures: 1 }, halfOpenAfterMs: 1000 },
      verifier: recordingVerifier(),
      clock,
    });
    target.fail(pgError('08006'), 1);
    const opening = rejection(auth.authenticate(login));
    await vi.advanceTimersByTimeAsync(100);
    await opening;
    expect(auth.health().providers[1]?.state).toBe('open');
    clock.advance(1000);
    target.hang();
    const trial = rejection(auth.authenticate(login));
    await vi.advanceTimersByTimeAsync(100);
    const error = await trial;
    expect(isAuthUnavailableError(error) && error.failures[1]?.message).toMatch(
      /earlier providers had used part of it/,
    );
    expect(auth.health().providers[1]?.state).toBe('open');
  });

  it('a reset() during a half-open trial: the old breaker finishing its trial announces nothing', async () => {
    const { auth, primary, clock, of } = twoProviders({
      policy: opensAtOnce,
    });
    primary.fail(pgError('08006'), 1);
    await auth.authenticate(login);
    clock.advance(1000);
    const held = holdLookups(primary);
    const trial = auth.authenticate(login);
    await vi.waitFor(() => expect(auth.health().providers[0]?.state).toBe('half-open'));
    auth.reset('primary');
    held.release();
    await trial;
    expect(of('onCircuitStateChange').map((e) => (e as { to: string }).to)).toEqual([
      'open',
      'half-open',
      'closed',
    ]);
  });

  it('reset() of a closed breaker announces nothing', () => {
    const { auth, of } = twoProviders();
    auth.reset('primary');
    expect(of('onCircuitStateChange')).toEqual([]);
  });

  it("reuses a skipped provider's failure while its state is unchanged", async () => {
    const { auth } = twoProviders();
    auth.isolate('primary');
    auth.isolate('fallback');
    const first = await rejection(auth.authenticate(login));
    const second = await rejection(auth.authenticate(login));
    expect(isAuthUnavailableError(first) && isAuthUnavailableError(second)).toBe(true);
    if (isAuthUnavailableError(first) && isAuthUnavailableError(second)) {
      expect(second.failures[0]).toBe(first.failures[0]);
      expect(Object.isFrozen(first.failures[0])).toBe(true);
    }
  });
});

describe('health while providers change', () => {
  it('counts a half-open provider as able to serve', async () => {
    const { auth, primary, clock } = twoProviders({
      policy: opensAtOnce,
    });
    primary.fail(pgError('08006'), 1);
    await auth.authenticate(login);
    auth.isolate('fallback');
    clock.advance(1000);
    primary.hang();
    void auth.authenticate(login).catch(() => undefined);
    await vi.waitFor(() => expect(auth.health().providers[0]?.state).toBe('half-open'));
    expect(auth.health().status).toBe('degraded');
  });

  it('failover: a fallback that cannot serve does not make a serving primary degraded', async () => {
    const { auth } = twoProviders();
    await auth.authenticate(login);
    auth.isolate('fallback');
    expect(auth.health().status).toBe('healthy');
  });
});

describe('close() with several calls in flight', () => {
  it('waits for the last one, and no longer', async () => {
    vi.useFakeTimers();
    const { auth, primary, closed } = closeRecordingAuth();
    primary.delay(10);
    const short = auth.authenticate(login);
    await vi.advanceTimersByTimeAsync(5);
    primary.delay(100);
    const long = auth.authenticate(login);
    let done = false;
    const closing = auth.close().then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(5);
    await short;
    expect(closed).toEqual([]);
    await vi.advanceTimersByTimeAsync(100);
    await long;
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(true);
    await closing;
    expect(closed).toEqual(['primary']);
  });
});

describe('configuration errors name the option and say what is wrong', () => {
  const provider = memoryProvider({ accounts: [] });
  const build = (options: unknown) => () =>
    createResilientAuth(options as Parameters<typeof createResilientAuth>[0]);

  it.each<[string, unknown, string]>([
    ['no options at all', undefined, 'options: '],
    ['no provider', { providers: [] }, 'providers: at least one provider is required'],
    [
      'a provider without findAccount',
      { providers: [{ name: 'x' }] },
      'providers.0.findAccount: expected a function',
    ],
    [
      'a provider name that is not a string',
      { providers: [{ name: 42, findAccount: async () => null }] },
      'providers.0.name: expected 1 to 100 letters, digits or . _ - : @ /',
    ],
    [
      'a provider name with a space',
      { providers: [{ name: 'primary db', findAccount: async () => null }] },
      'providers.0.name: expected',
    ],
    [
      'a provider name ending in a stray character',
      { providers: [{ name: 'db!', findAccount: async () => null }] },
      'providers.0.name: expected',
    ],
    [
      'a provider name starting with a stray character',
      { providers: [{ name: '!db', findAccount: async () => null }] },
      'providers.0.name: expected',
    ],
    [
      'a provider check that is not a function',
      { providers: [{ name: 'x', findAccount: async () => null, check: 'yes' }] },
      'providers.0.check: expected a function',
    ],
    [
      'a provider close that is not a function',
      { providers: [{ name: 'x', findAccount: async () => null, close: 1 }] },
      'providers.0.close: expected a function',
    ],
    [
      'two providers with one name',
      { providers: [provider, memoryProvider({ accounts: [] })] },
      'providers.1.name: duplicate provider name "memory"',
    ],
    ['hooks that are null', { providers: [provider], hooks: null }, 'hooks: expected an object'],
    [
      'a verifier without verify',
      { providers: [provider], verifier: { isWellFormed: () => true, dummyHash: () => 'x' } },
      'verifier.verify: expected a function',
    ],
    [
      'a verifier with a close that is not a function',
      { providers: [provider], verifier: { ...recordingVerifier(), close: 'later' } },
      'verifier.close: expected a function',
    ],
    [
      'a verifier with maxPasswordBytes 0',
      { providers: [provider], verifier: { ...recordingVerifier(), maxPasswordBytes: 0 } },
      'verifier.maxPasswordBytes: expected a positive integer',
    ],
    [
      'a verifier with a fractional maxPasswordBytes',
      { providers: [provider], verifier: { ...recordingVerifier(), maxPasswordBytes: 1.5 } },
      'verifier.maxPasswordBytes: expected a positive integer',
    ],
    ['a clock without now', { providers: [provider], clock: {} }, 'clock.now: expected a function'],
    [
      'a logger without error',
      { providers: [provider], logger: { warn: () => undefined } },
      'logger.error: expected a function',
    ],
  ])('refuses %s', (_, options, message) => {
    expect(build(options)).toThrow(message);
  });

  it('accepts every documented value', () => {
    const hooks = Object.assign(Object.create(null) as object, { onAttempt: () => undefined });
    class Notifier {
      // Not hook-like: "on" + a capital only at the start of a name makes a hook name.
      sessionTimeout(): void {}
      onRecovered(): void {}
    }
    for (const options of [
      { providers: [provider], mode: 'failover' },
      { providers: [provider], mode: 'federated' },
      { providers: [provider], hooks },
      { providers: [provider], hooks: new Notifier() },
      { providers: [provider], verifier: { ...recordingVerifier(), maxPasswordBytes: 1 } },
      { providers: [provider], verifier: { ...recordingVerifier(), maxPasswordBytes: undefined } },
    ]) {
      expect(build(options)).not.toThrow();
    }
  });

  it('keeps the zod error as the cause, for debugging', () => {
    let error: unknown;
    try {
      build({ providers: [] })();
    } catch (e) {
      error = e;
    }
    expect(isConfigError(error) && error.cause).toMatchObject({ issues: expect.any(Array) });
  });
});
