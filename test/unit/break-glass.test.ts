import { inspect } from 'node:util';
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import {
  type AuthUnavailableError,
  type AuthUser,
  ConfigError,
  createResilientAuth,
  EMERGENCY_FAILED_CHECKS,
  EMERGENCY_PROVIDER,
  type EmergencyAccess,
  emergencyAccountsFromEnv,
  emergencyProvider,
  hashPassword,
  isAuthUnavailableError,
  MAX_EMERGENCY_LIFETIME_MS,
  memoryProvider,
  type ResilientAuthOptions,
} from '../../src/index.js';
import { bcryptCost, dummyBcryptHash } from '../../src/password/bcrypt-hash.js';
import { manualClock } from '../../src/testing/index.js';
import {
  FAKE_DUMMY,
  pgError,
  type RecordingVerifier,
  recordingLogger,
  recordingVerifier,
  thrownBy,
} from '../support/fakes.js';
import { ADA, accounts, PASSWORD, recordingHooks } from '../support/fixtures.js';

const ALICE = 'ops-alice';
const ALICE_PASSWORD = 'break the glass, alice';
const BOB = 'ops-bob';
const BOB_PASSWORD = 'break the glass, bob';
const ALICE_HASH = await hashPassword(ALICE_PASSWORD, 10);
const BOB_HASH = await hashPassword(BOB_PASSWORD, 10);
const BCRYPT_DUMMY = dummyBcryptHash(10);
const START = Date.UTC(2026, 0, 1);
const DAY_MS = 24 * 60 * 60 * 1000;
const ip = '203.0.113.7';

/**
 * The recording verifier of the other tests (instant fake hashes, every call
 * recorded in `calls`), which also checks bcrypt hashes, with bcryptjs.
 */
function bcryptToo(): RecordingVerifier {
  const base = recordingVerifier();
  return {
    ...base,
    isWellFormed: (hash) => base.isWellFormed(hash) || bcryptCost(hash) !== undefined,
    dummyHash: (like) =>
      like !== undefined && bcryptCost(like) !== undefined ? BCRYPT_DUMMY : FAKE_DUMMY,
    async verify(password, hash, options) {
      if (bcryptCost(hash) === undefined) return base.verify(password, hash, options);
      base.calls.push({ password, hash });
      base.waits.push(options?.maxWaitMs);
      return bcrypt.compare(password, hash);
    },
  };
}

function access(expiresAt: Date | string = new Date(START + 7 * DAY_MS)) {
  return emergencyProvider({
    accounts: [
      { identifier: ALICE, passwordHash: ALICE_HASH },
      { identifier: BOB, passwordHash: BOB_HASH },
    ],
    expiresAt,
  });
}

/** Two providers over the usual accounts, emergency access for Alice and Bob, hooks, logger and a manual clock. */
function withBreakGlass(options: Partial<ResilientAuthOptions> = {}) {
  const primary = memoryProvider({ name: 'primary', accounts });
  const fallback = memoryProvider({ name: 'fallback', accounts });
  const verifier = bcryptToo();
  const recorded = recordingHooks();
  const logger = recordingLogger();
  const clock = manualClock(START);
  const auth = createResilientAuth({
    providers: [primary, fallback],
    verifier,
    hooks: recorded.hooks,
    logger,
    clock,
    emergency: access(),
    ...options,
  });
  /** Every provider down: the total outage break-glass access is for. */
  const outage = () => {
    primary.fail(pgError('57P01', 'terminating connection due to administrator command'));
    fallback.fail(pgError('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.5:5432'));
  };
  return { auth, primary, fallback, verifier, logger, clock, outage, ...recorded };
}

async function unavailable(promise: Promise<unknown>): Promise<AuthUnavailableError> {
  const error = await promise.catch((e: unknown) => e);
  if (!isAuthUnavailableError(error))
    throw new Error(`expected AuthUnavailableError, got ${inspect(error)}`);
  return error;
}

describe('break-glass access while a provider answers: the emergency accounts do not exist', () => {
  it('an emergency identifier with its password is an unknown identifier: invalid_credentials, one dummy verification', async () => {
    const { auth, verifier, of } = withBreakGlass();
    const result = await auth.authenticate({ identifier: ALICE, password: ALICE_PASSWORD });
    expect(result).toEqual({ ok: false, reason: 'invalid_credentials' });
    // Exactly what an unknown identifier costs: one verification, against the dummy.
    expect(verifier.calls).toEqual([{ password: ALICE_PASSWORD, hash: FAKE_DUMMY }]);
    expect(of('onAttempt')).toEqual([
      expect.objectContaining({
        outcome: 'rejected',
        cause: 'unknown_identifier',
        provider: 'primary',
      }),
    ]);
    expect(of('onEmergencyAccess')).toEqual([]);
  });

  it('the same when the answer comes from a fallback (degraded is not "every provider down")', async () => {
    const { auth, primary, verifier, of } = withBreakGlass();
    primary.fail(pgError('42P01'));
    const result = await auth.authenticate({ identifier: ALICE, password: ALICE_PASSWORD });
    expect(result).toEqual({ ok: false, reason: 'invalid_credentials' });
    expect(verifier.calls).toEqual([{ password: ALICE_PASSWORD, hash: FAKE_DUMMY }]);
    expect(of('onEmergencyAccess')).toEqual([]);
  });

  it('an identifier found in the store is decided by the store: its own password grants normally, the emergency one is a wrong password', async () => {
    const { auth, verifier, of } = withBreakGlass({
      emergency: emergencyProvider({
        accounts: [{ identifier: 'ada@example.com', passwordHash: ALICE_HASH }],
        expiresAt: new Date(START + DAY_MS),
      }),
    });
    expect(
      await auth.authenticate({ identifier: 'ada@example.com', password: ALICE_PASSWORD }),
    ).toEqual({ ok: false, reason: 'invalid_credentials' });
    expect(await auth.authenticate({ identifier: 'ada@example.com', password: PASSWORD })).toEqual({
      ok: true,
      user: ADA,
      provider: 'primary',
      degraded: false,
      mustChangePassword: false,
    });
    expect(verifier.calls.map((c) => c.hash)).toEqual([
      accounts[0]!.passwordHash,
      accounts[0]!.passwordHash,
    ]);
    expect(of('onEmergencyAccess')).toEqual([]);
  });

  it('federated: "not found where asked, and a store that might hold it failed" is not a total outage: not consulted, no verification', async () => {
    const { auth, primary, verifier, of } = withBreakGlass({ mode: 'federated' });
    primary.fail(pgError('42P01'));
    const error = await unavailable(
      auth.authenticate({ identifier: ALICE, password: ALICE_PASSWORD }),
    );
    expect(error.failures.map((f) => f.provider)).toEqual(['primary']);
    expect(verifier.calls).toEqual([]);
    expect(of('onEmergencyAccess')).toEqual([]);
  });
});

describe('break-glass access when every provider is down', () => {
  it('grants an emergency account with its password: emergency: true, onEmergencyAccess and onAttempt fired', async () => {
    const { auth, verifier, outage, of } = withBreakGlass();
    outage();
    const context = { ip, requestId: 'req-1' };
    const result = await auth.authenticate({
      identifier: ALICE,
      password: ALICE_PASSWORD,
      context,
    });
    expect(result).toEqual({
      ok: true,
      user: { id: ALICE, emergency: true },
      provider: EMERGENCY_PROVIDER,
      degraded: true,
      mustChangePassword: false,
      emergency: true,
    });
    expect(EMERGENCY_PROVIDER).toBe('emergency');
    expect(verifier.calls).toEqual([{ password: ALICE_PASSWORD, hash: ALICE_HASH }]);
    expect(of('onEmergencyAccess')).toEqual([
      {
        identifier: ALICE,
        granted: true,
        expiresAt: new Date(START + 7 * DAY_MS),
        failures: [
          expect.objectContaining({ provider: 'primary', code: '57P01' }),
          expect.objectContaining({ provider: 'fallback', code: 'ECONNREFUSED' }),
        ],
        call: { id: 1 },
        context,
      },
    ]);
    expect(of('onAttempt')).toEqual([
      {
        outcome: 'authenticated',
        identifier: ALICE,
        provider: 'emergency',
        degraded: true,
        durationMs: expect.any(Number),
        call: { id: 1 },
        context,
      },
    ]);
    // The call was answered: not an unavailable call for metrics.
    expect(of('onUnavailable')).toEqual([]);
    // But no provider could: health says so.
    expect(auth.health().status).toBe('unhealthy');
  });

  it('grants while every breaker is open too (providers skipped, not called)', async () => {
    const { auth, primary, fallback, outage } = withBreakGlass({
      policy: { breaker: { consecutiveFailures: 1 }, retry: { maxAttempts: 1 } },
    });
    outage();
    await unavailable(auth.authenticate({ identifier: 'ada@example.com', password: PASSWORD }));
    const lookups = primary.lookups + fallback.lookups;
    const result = await auth.authenticate({ identifier: BOB, password: BOB_PASSWORD });
    expect(result).toMatchObject({ ok: true, provider: 'emergency', emergency: true });
    expect(primary.lookups + fallback.lookups).toBe(lookups);
  });

  it('returns the user the `user` option makes, for an app user type', async () => {
    const { auth, outage } = withBreakGlass({
      emergency: emergencyProvider({
        accounts: [{ identifier: ALICE, passwordHash: ALICE_HASH }],
        expiresAt: new Date(START + DAY_MS),
        user: (identifier) => ({ id: `operator:${identifier}`, role: 'operator' }),
      }),
    });
    outage();
    const result = await auth.authenticate({ identifier: ALICE, password: ALICE_PASSWORD });
    expect(result.ok && result.user).toEqual({ id: 'operator:ops-alice', role: 'operator' });
  });

  it('checks the password in the normalize form, as a normal login does', async () => {
    const nfc = 'caf\u00e9 break glass';
    const made = emergencyProvider({
      accounts: [
        {
          identifier: ALICE,
          passwordHash: await hashPassword(nfc, { cost: 10, normalize: 'NFKC' }),
        },
      ],
      expiresAt: new Date(START + DAY_MS),
    });
    const { auth, outage } = withBreakGlass({ normalize: 'NFKC', emergency: made });
    outage();
    const typed = { identifier: ALICE, password: nfc.normalize('NFD') };
    expect(await auth.authenticate(typed)).toMatchObject({ ok: true, emergency: true });
  });

  it('a wrong password on an emergency identifier: AuthUnavailableError as without emergency access, one verification, reported as refused', async () => {
    const { auth, verifier, outage, of } = withBreakGlass();
    outage();
    const error = await unavailable(auth.authenticate({ identifier: ALICE, password: 'guess' }));
    expect(error.failures.map((f) => f.provider)).toEqual(['primary', 'fallback']);
    expect(verifier.calls).toEqual([{ password: 'guess', hash: ALICE_HASH }]);
    expect(of('onEmergencyAccess')).toEqual([
      expect.objectContaining({ identifier: ALICE, granted: false, refusal: 'wrong_password' }),
    ]);
    expect(of('onUnavailable')).toHaveLength(1);
    expect(of('onAttempt')).toEqual([]);
  });

  it('an unknown identifier: the same AuthUnavailableError, one verification against a dummy of the same cost, nothing reported', async () => {
    const { auth, verifier, outage, of } = withBreakGlass();
    outage();
    const unknown = await unavailable(
      auth.authenticate({ identifier: 'mallory', password: 'guess' }),
    );
    const wrong = await unavailable(auth.authenticate({ identifier: ALICE, password: 'guess' }));
    expect(verifier.calls).toEqual([
      { password: 'guess', hash: BCRYPT_DUMMY },
      { password: 'guess', hash: ALICE_HASH },
    ]);
    expect(bcryptCost(BCRYPT_DUMMY)).toBe(bcryptCost(ALICE_HASH));
    // Nothing in what the caller gets tells them apart.
    expect([unknown.name, unknown.code, unknown.message, unknown.retryAfterMs]).toEqual([
      wrong.name,
      wrong.code,
      wrong.message,
      wrong.retryAfterMs,
    ]);
    expect(of('onEmergencyAccess')).toEqual([expect.objectContaining({ identifier: ALICE })]);
  });

  it('fails closed: a verifier that says yes to everything makes no unknown identifier an emergency account', async () => {
    const { auth, verifier, outage, of } = withBreakGlass();
    outage();
    verifier.verify = async () => true;
    await unavailable(auth.authenticate({ identifier: 'mallory', password: 'guess' }));
    expect(of('onAttempt')).toEqual([]);
  });

  it('every check that does not grant spends its address budget, whatever the identifier: then nothing is checked', async () => {
    const { auth, verifier, outage, of } = withBreakGlass();
    outage();
    const from = (address: string) => ({ context: { ip: address } });
    // Known or not, the same: an unknown identifier and a wrong password each spend one.
    for (const identifier of ['mallory', 'eve', 'trent']) {
      await unavailable(auth.authenticate({ identifier, password: 'guess', ...from(ip) }));
    }
    for (let i = 0; i < EMERGENCY_FAILED_CHECKS - 3; i++) {
      await unavailable(auth.authenticate({ identifier: ALICE, password: 'guess', ...from(ip) }));
    }
    expect(verifier.calls).toHaveLength(EMERGENCY_FAILED_CHECKS);
    // Spent: even the right password is not checked from that address, and an
    // unknown identifier gets the very same answer, at the same (no) cost.
    await unavailable(
      auth.authenticate({ identifier: ALICE, password: ALICE_PASSWORD, ...from(ip) }),
    );
    await unavailable(auth.authenticate({ identifier: 'mallory', password: 'guess', ...from(ip) }));
    expect(verifier.calls).toHaveLength(EMERGENCY_FAILED_CHECKS);
    expect(of('onEmergencyAccess').at(-1)).toMatchObject({
      identifier: ALICE,
      granted: false,
      refusal: 'rate_limited',
    });
    // Another address still has its budget.
    expect(
      await auth.authenticate({
        identifier: ALICE,
        password: ALICE_PASSWORD,
        ...from('198.51.100.4'),
      }),
    ).toMatchObject({ ok: true, emergency: true });
  });

  it('the main throttle counts none of it: an emergency identifier is never told apart by rate_limited', async () => {
    const { auth, outage } = withBreakGlass({
      throttle: { consecutive: { limit: 2 }, ip: false, account: false },
    });
    outage();
    for (const identifier of [ALICE, ALICE, 'mallory', 'mallory']) {
      await unavailable(auth.authenticate({ identifier, password: 'guess', context: { ip } }));
    }
    // Two failures each, at a limit of two in a row: had the throttle counted
    // either, this would be rate_limited.
    expect(
      await auth.authenticate({ identifier: ALICE, password: ALICE_PASSWORD, context: { ip } }),
    ).toMatchObject({ ok: true, emergency: true });
  });

  it('a granted login is a success for the throttle: it resets the consecutive count', async () => {
    const { auth, outage } = withBreakGlass({
      throttle: { consecutive: { limit: 2 }, ip: false, account: false },
    });
    outage();
    const wrong = { identifier: ALICE, password: 'guess', context: { ip } };
    const right = { identifier: ALICE, password: ALICE_PASSWORD, context: { ip } };
    await unavailable(auth.authenticate(wrong));
    expect(await auth.authenticate(right)).toMatchObject({ ok: true, emergency: true });
    await unavailable(auth.authenticate(wrong));
    expect(await auth.authenticate(right)).toMatchObject({ ok: true, emergency: true });
  });

  it('a password that cannot be checked (verifier shed) grants nothing: AuthUnavailableError, reported as check_failed', async () => {
    const { auth, verifier, outage, of, logger } = withBreakGlass();
    outage();
    verifier.verify = async () => {
      throw Object.assign(new Error(`no thread free for ${ALICE_HASH}`), { code: 'OVERLOADED' });
    };
    await unavailable(auth.authenticate({ identifier: ALICE, password: ALICE_PASSWORD }));
    expect(of('onEmergencyAccess')).toEqual([
      expect.objectContaining({ identifier: ALICE, granted: false, refusal: 'check_failed' }),
    ]);
    expect(logger.lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        message: 'emergency access: the password could not be checked',
        // The code only, never the message (which here quotes the hash); not a library error: VERIFIER_FAILED.
        meta: { identifier: ALICE, code: 'VERIFIER_FAILED' },
      }),
    ]);
    // Not an emergency identifier: the same answer, and nothing said about it.
    await unavailable(auth.authenticate({ identifier: 'mallory', password: 'guess' }));
    expect(of('onEmergencyAccess')).toHaveLength(1);
    expect(logger.lines).toHaveLength(1);
  });

  it("waits for a verifier thread as a normal login's check does: verifyWaitMs, or what is left of the deadline", async () => {
    const bounded = withBreakGlass({ verifyWaitMs: 123 });
    bounded.outage();
    await bounded.auth.authenticate({ identifier: ALICE, password: ALICE_PASSWORD });
    expect(bounded.verifier.waits).toEqual([123]);
    const rest = withBreakGlass({ deadlineMs: 2000 });
    rest.outage();
    await rest.auth.authenticate({ identifier: ALICE, password: ALICE_PASSWORD });
    expect(rest.verifier.waits).toEqual([expect.any(Number)]);
    expect(rest.verifier.waits[0]).toBeGreaterThan(1000);
    expect(rest.verifier.waits[0]).toBeLessThanOrEqual(2000);
  });

  it('verifies the password exactly as typed without the normalize option', async () => {
    const nfc = 'caf\u00e9 break glass';
    const { auth, outage } = withBreakGlass({
      emergency: emergencyProvider({
        accounts: [{ identifier: ALICE, passwordHash: await hashPassword(nfc, 10) }],
        expiresAt: new Date(START + DAY_MS),
      }),
    });
    outage();
    await unavailable(auth.authenticate({ identifier: ALICE, password: nfc.normalize('NFD') }));
    expect(await auth.authenticate({ identifier: ALICE, password: nfc })).toMatchObject({
      ok: true,
    });
  });
});

describe('break-glass access after expiresAt', () => {
  it('refuses the accounts by the injected clock: AuthUnavailableError, no verification, expiry logged once, every use reported', async () => {
    const { auth, verifier, clock, outage, of, logger } = withBreakGlass();
    outage();
    expect(await auth.authenticate({ identifier: ALICE, password: ALICE_PASSWORD })).toMatchObject({
      ok: true,
      emergency: true,
    });
    clock.set(START + 7 * DAY_MS);
    await unavailable(auth.authenticate({ identifier: ALICE, password: ALICE_PASSWORD }));
    await unavailable(auth.authenticate({ identifier: 'mallory', password: 'guess' }));
    expect(verifier.calls).toHaveLength(1);
    expect(of('onEmergencyAccess').map((e) => e as { granted: boolean; refusal?: string })).toEqual(
      [
        expect.objectContaining({ granted: true }),
        expect.objectContaining({ identifier: ALICE, granted: false, refusal: 'expired' }),
      ],
    );
    expect(logger.lines.filter((l) => l.message.startsWith('emergency access expired'))).toEqual([
      {
        level: 'warn',
        message: expect.any(String),
        meta: { expiresAt: '2026-01-08T00:00:00.000Z' },
      },
    ]);
    expect(auth.health().emergency).toEqual({
      accounts: 2,
      expiresAt: new Date(START + 7 * DAY_MS),
      expired: true,
    });
  });
});

describe('break-glass access in health()', () => {
  it('shows how many accounts, until when, and whether expired; no identifier', () => {
    const { auth } = withBreakGlass();
    const { emergency } = auth.health();
    expect(emergency).toEqual({
      accounts: 2,
      expiresAt: new Date(START + 7 * DAY_MS),
      expired: false,
    });
    expect(JSON.stringify(auth.health())).not.toContain(ALICE);
  });

  it('has no entry without emergency access', () => {
    const { auth } = withBreakGlass({ emergency: undefined });
    expect(auth.health()).not.toHaveProperty('emergency');
  });
});

describe('break-glass configuration', () => {
  const good = { identifier: ALICE, passwordHash: ALICE_HASH };
  const refused = (build: () => unknown) => {
    const error = thrownBy(build);
    expect(error).toBeInstanceOf(ConfigError);
    const text = inspect(error, { depth: 20 });
    for (const secret of [ALICE_HASH, BOB_HASH, ALICE_PASSWORD, ALICE_HASH.slice(7)]) {
      expect(text).not.toContain(secret);
    }
    return error as ConfigError;
  };
  const create = (emergency: EmergencyAccess, clock = manualClock(START)) =>
    createResilientAuth<AuthUser>({
      providers: [memoryProvider({ accounts })],
      verifier: bcryptToo(),
      clock,
      emergency,
    });

  it('requires an expiry', () => {
    const noExpiry = { accounts: [good] } as unknown as Parameters<typeof emergencyProvider>[0];
    expect(refused(() => emergencyProvider(noExpiry)).option).toBe('emergencyProvider.expiresAt');
    expect(
      refused(() => emergencyProvider({ accounts: [good], expiresAt: undefined })).message,
    ).toContain('is required');
    expect(refused(() => emergencyProvider({ accounts: [good], expiresAt: '' })).message).toContain(
      'is required',
    );
  });

  it('refuses an invalid date', () => {
    for (const expiresAt of [
      'next tuesday',
      '2026-02-30T00:00:00Z',
      '2026-01-08',
      new Date(Number.NaN),
    ]) {
      expect(refused(() => emergencyProvider({ accounts: [good], expiresAt })).option).toBe(
        'emergencyProvider.expiresAt',
      );
    }
  });

  it('refuses an expiry already past, or more than 30 days ahead, by the authenticator clock', () => {
    expect(refused(() => create(access(new Date(START)))).option).toBe('emergency.expiresAt');
    expect(refused(() => create(access(new Date(START - 1)))).message).toContain('already past');
    const tooFar = refused(() => create(access(new Date(START + MAX_EMERGENCY_LIFETIME_MS + 1))));
    expect([tooFar.option, tooFar.message]).toEqual([
      'emergency.expiresAt',
      expect.stringContaining('30 days'),
    ]);
    expect(MAX_EMERGENCY_LIFETIME_MS).toBe(30 * DAY_MS);
    // 30 days exactly is allowed, as an ISO 8601 string too.
    expect(() => create(access('2026-01-31T00:00:00Z'))).not.toThrow();
  });

  it('refuses a password in plain text, a malformed hash and one mangled by shell expansion, naming the account', () => {
    const cases = [
      ALICE_PASSWORD,
      ALICE_HASH.slice(0, -1),
      `${ALICE_HASH}x`,
      ALICE_HASH.replace('$2b$10$', '0$'),
      ALICE_HASH.replace('$2b$', '$2x$'),
      `fake$${ALICE_PASSWORD}`,
    ];
    for (const passwordHash of cases) {
      const error = refused(() =>
        emergencyProvider({
          accounts: [good, { identifier: BOB, passwordHash }],
          expiresAt: '2026-01-02T00:00:00Z',
        }),
      );
      expect(error.option).toBe('emergencyProvider.accounts.1.passwordHash');
      expect(error.message).toContain('not a bcrypt hash');
      expect(error.message).not.toContain(passwordHash);
    }
  });

  it('refuses a cheap hash, and hashes of different costs', async () => {
    const cheap = bcrypt.hashSync(BOB_PASSWORD, 4);
    expect(
      refused(() =>
        emergencyProvider({
          accounts: [{ identifier: BOB, passwordHash: cheap }],
          expiresAt: '2026-01-02T00:00:00Z',
        }),
      ).message,
    ).toContain('cost below 10');
    const dearer = await hashPassword(BOB_PASSWORD, 11);
    const mixed = refused(() =>
      emergencyProvider({
        accounts: [good, { identifier: BOB, passwordHash: dearer }],
        expiresAt: '2026-01-02T00:00:00Z',
      }),
    );
    expect([mixed.option, mixed.message]).toEqual([
      'emergencyProvider.accounts.1.passwordHash',
      expect.stringContaining('same cost'),
    ]);
  });

  it('refuses a duplicate identifier and an empty list', () => {
    const duplicate = refused(() =>
      emergencyProvider({
        accounts: [
          good,
          { identifier: BOB, passwordHash: BOB_HASH },
          { identifier: ALICE, passwordHash: BOB_HASH },
        ],
        expiresAt: '2026-01-02T00:00:00Z',
      }),
    );
    expect([duplicate.option, duplicate.message]).toEqual([
      'emergencyProvider.accounts.2.identifier',
      expect.stringContaining('accounts.0'),
    ]);
    expect(
      refused(() => emergencyProvider({ accounts: [], expiresAt: '2026-01-02T00:00:00Z' })).option,
    ).toBe('emergencyProvider.accounts');
  });

  it('refuses a user option that throws, and anything emergencyProvider() did not make', () => {
    const throwing = refused(() =>
      emergencyProvider({
        accounts: [good],
        expiresAt: '2026-01-02T00:00:00Z',
        user: () => {
          throw new Error('no such operator');
        },
      }),
    );
    expect(throwing.option).toBe('emergencyProvider.user');
    const lookalike = {
      provider: 'emergency',
      accounts: 1,
      expiresAt: new Date(START + DAY_MS),
      user: () => ({}),
    };
    expect(refused(() => create(lookalike as unknown as EmergencyAccess)).option).toBe('emergency');
  });

  it('refuses a verifier that cannot check bcrypt hashes', () => {
    const error = refused(() =>
      createResilientAuth<AuthUser>({
        providers: [memoryProvider({ accounts })],
        verifier: recordingVerifier(),
        clock: manualClock(START),
        emergency: access(),
      }),
    );
    expect(error.option).toBe('emergency.accounts');
  });

  it('shows no identifier and no hash on the object the app holds', () => {
    const made = access();
    expect(made).toEqual({
      provider: 'emergency',
      accounts: 2,
      expiresAt: new Date(START + 7 * DAY_MS),
      user: expect.any(Function),
    });
    expect(inspect(made, { depth: 10, showHidden: true })).not.toContain(ALICE_HASH);
    expect(Object.isFrozen(made)).toBe(true);
  });
});

describe('emergencyAccountsFromEnv', () => {
  it('reads identifier:hash pairs, ignoring whitespace, line breaks and a trailing comma', () => {
    expect(emergencyAccountsFromEnv(` ${ALICE}:${ALICE_HASH},\n  ${BOB}:${BOB_HASH} ,`)).toEqual([
      { identifier: ALICE, passwordHash: ALICE_HASH },
      { identifier: BOB, passwordHash: BOB_HASH },
    ]);
  });

  it('feeds emergencyProvider, whose checks then apply', () => {
    const made = emergencyProvider({
      accounts: emergencyAccountsFromEnv(`${ALICE}:${ALICE_HASH},${BOB}:${BOB_HASH}`),
      expiresAt: '2026-01-02T00:00:00Z',
    });
    expect(made.accounts).toBe(2);
    // A hash that lost its "$" parts to a shell.
    const mangled = `${ALICE}:${ALICE_HASH.replace('$2b$10$', '0')}`;
    const error = thrownBy(() =>
      emergencyProvider({
        accounts: emergencyAccountsFromEnv(mangled),
        expiresAt: '2026-01-02T00:00:00Z',
      }),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('shell expansion');
  });

  it('refuses an unset or empty variable and an entry that is not identifier:hash, never quoting the value', () => {
    for (const value of [undefined, '', '  ']) {
      expect((thrownBy(() => emergencyAccountsFromEnv(value)) as ConfigError).option).toBe(
        'emergencyAccountsFromEnv',
      );
    }
    const bad = [
      [`${ALICE}:${ALICE_HASH},${BOB_PASSWORD}`, 'emergencyAccountsFromEnv.1'],
      [`${ALICE_HASH}`, 'emergencyAccountsFromEnv.0'],
      [`:${ALICE_HASH}`, 'emergencyAccountsFromEnv.0'],
      [`${ALICE}:`, 'emergencyAccountsFromEnv.0'],
      [`${ALICE}:${BOB}:${ALICE_HASH}`, 'emergencyAccountsFromEnv.0'],
    ] as const;
    for (const [value, option] of bad) {
      const error = thrownBy(() => emergencyAccountsFromEnv(value));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe(option);
      const text = inspect(error, { depth: 20 });
      for (const secret of [ALICE_HASH, BOB_PASSWORD, ALICE_HASH.slice(7)])
        expect(text).not.toContain(secret);
    }
  });
});

describe('break-glass secrets', () => {
  it('no event, log line, error, health snapshot or option object carries a password or a hash', async () => {
    const { auth, clock, outage, events, logger, verifier } = withBreakGlass();
    const seen: unknown[] = [];
    const attempt = async (identifier: string, password: string) => {
      try {
        seen.push(await auth.authenticate({ identifier, password, context: { ip } }));
      } catch (error) {
        seen.push(error, (error as AuthUnavailableError).failures);
      }
    };
    await attempt(ALICE, ALICE_PASSWORD); // providers answer: unknown
    outage();
    await attempt(ALICE, ALICE_PASSWORD); // granted
    await attempt(BOB, ALICE_PASSWORD); // wrong password
    await attempt('mallory', BOB_PASSWORD); // unknown
    const slow = verifier.verify;
    verifier.verify = async () => {
      throw new Error(`cannot check ${ALICE_HASH}`);
    };
    await attempt(ALICE, ALICE_PASSWORD); // check failed
    verifier.verify = slow;
    clock.set(START + 8 * DAY_MS);
    await attempt(ALICE, ALICE_PASSWORD); // expired
    seen.push(auth.health(), access());
    expect(events.some((e) => e.hook === 'onEmergencyAccess')).toBe(true);
    const dump = [...events, ...logger.lines, ...seen].map((x) =>
      inspect(x, { depth: 20, showHidden: true }),
    );
    for (const secret of [
      ALICE_HASH,
      BOB_HASH,
      ALICE_PASSWORD,
      BOB_PASSWORD,
      ALICE_HASH.slice(7, 29),
    ]) {
      for (const text of dump) expect(text).not.toContain(secret);
    }
    await auth.close();
  });
});
