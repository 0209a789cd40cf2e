import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type AuthHooks,
  createResilientAuth,
  isConfigError,
  memoryProvider,
  ResilientAuthError,
} from '../../src/index.js';
import {
  FAKE_DUMMY,
  fakeHash,
  recordingLogger,
  recordingVerifier,
  thrownBy,
} from '../support/fakes.js';
import { ADA, accounts, PASSWORD, recordingHooks, twoProviders } from '../support/fixtures.js';

afterEach(() => {
  vi.useRealTimers();
});

const login = { identifier: 'ada@example.com', password: PASSWORD };

// "ｐａｓｓ ﬁne" (full-width letters, a ligature) is not in NFKC; its NFKC form is "pass fine".
const TYPED = 'ｐａｓｓ ﬁne';
const NFKC = 'pass fine';
// The same word as NFC (precomposed é) and NFD (e + combining acute): NFKC makes both NFC.
const CAFE_NFC = 'caf\u00e9 au lait';
const CAFE_NFD = 'cafe\u0301 au lait';

/** One account whose stored hash was made from `password` exactly as given. */
function oneAccount(password: string) {
  return memoryProvider({
    name: 'users',
    accounts: [{ identifier: 'ada@example.com', passwordHash: fakeHash(password), user: ADA }],
  });
}

describe('the wait for a password check', () => {
  it('is what is left of the deadline when the lookup answered', async () => {
    vi.useFakeTimers();
    // The call starts well after time 0, so "elapsed" is a difference, not a reading.
    vi.advanceTimersByTime(10_000);
    const { auth, verifier, primary } = twoProviders({ deadlineMs: 3000 });
    primary.delay(800);
    const pending = auth.authenticate(login);
    await vi.advanceTimersByTimeAsync(800);
    await expect(pending).resolves.toMatchObject({ ok: true });
    expect(verifier.waits).toEqual([2200]);
  });

  it('is verifyWaitMs instead when given, for every check', async () => {
    const fixed = twoProviders({ verifyWaitMs: 250 });
    await fixed.auth.authenticate({ ...login, password: 'wrong' });
    await fixed.auth.authenticate({ identifier: 'nobody@example.com', password: 'wrong' });
    expect(fixed.verifier.waits).toEqual([250, 250]);
  });

  it('refuses a verifyWaitMs that is not a non-negative integer, naming it', () => {
    for (const verifyWaitMs of [-1, 1.5, Number.NaN]) {
      expect(() => twoProviders({ verifyWaitMs })).toThrow(/^verifyWaitMs: /);
    }
  });
});

describe("normalize: 'NFKC'", () => {
  it('is off by default: a password typed in another Unicode form is refused', async () => {
    const auth = createResilientAuth({
      providers: [oneAccount(CAFE_NFC)],
      verifier: recordingVerifier(),
    });
    await expect(auth.authenticate({ ...login, password: CAFE_NFD })).resolves.toEqual({
      ok: false,
      reason: 'invalid_credentials',
    });
  });

  it('lets NFD typed against an NFC-made hash in, in one verification and without a rehash', async () => {
    const verifier = { ...recordingVerifier(), needsRehash: () => false, hash: vi.fn() };
    const auth = createResilientAuth({
      providers: [oneAccount(CAFE_NFC)],
      verifier,
      normalize: 'NFKC',
    });
    const result = await auth.authenticate({ ...login, password: CAFE_NFD });
    expect(result).toMatchObject({ ok: true, user: ADA });
    expect(result).not.toHaveProperty('rehash');
    expect(verifier.calls).toEqual([{ password: CAFE_NFC, hash: fakeHash(CAFE_NFC) }]);
    expect(verifier.hash).not.toHaveBeenCalled();
  });

  it('still lets in a hash made from the password as typed, and hands back its NFKC rehash', async () => {
    const verifier = {
      ...recordingVerifier(),
      needsRehash: () => false,
      hash: async (password: string) => fakeHash(password),
    };
    const recorded = recordingHooks();
    const auth = createResilientAuth({
      providers: [oneAccount(TYPED)],
      verifier,
      normalize: 'NFKC',
      hooks: recorded.hooks,
    });
    const result = await auth.authenticate({
      ...login,
      password: TYPED,
      context: { ip: '10.0.0.1' },
    });
    expect(result).toEqual({
      ok: true,
      user: ADA,
      provider: 'users',
      degraded: false,
      mustChangePassword: false,
      rehash: fakeHash(NFKC),
    });
    expect(recorded.of('onRehash')).toEqual([
      {
        user: ADA,
        provider: 'users',
        hash: fakeHash(NFKC),
        call: { id: 1 },
        context: { ip: '10.0.0.1' },
      },
    ]);
    expect(verifier.calls.map((c) => c.password)).toEqual([NFKC, TYPED]);
  });

  it('costs a wrong password typed in another form two checks whether or not the account exists', async () => {
    const verifier = recordingVerifier();
    const auth = createResilientAuth({
      providers: [oneAccount(PASSWORD)],
      verifier,
      normalize: 'NFKC',
    });
    await auth.authenticate({ ...login, password: TYPED });
    await auth.authenticate({ identifier: 'nobody@example.com', password: TYPED });
    expect(verifier.calls).toEqual([
      { password: NFKC, hash: fakeHash(PASSWORD) },
      { password: TYPED, hash: fakeHash(PASSWORD) },
      { password: NFKC, hash: FAKE_DUMMY },
      { password: TYPED, hash: FAKE_DUMMY },
    ]);
  });

  it('checks a password already in NFKC once, and rehashes as typed when normalization is off', async () => {
    const verifier = {
      ...recordingVerifier(),
      needsRehash: () => true,
      hash: async (password: string) => `fake$v2$${password}`,
    };
    const on = createResilientAuth({
      providers: [oneAccount(PASSWORD)],
      verifier,
      normalize: 'NFKC',
    });
    await on.authenticate({ ...login, password: 'wrong' });
    expect(verifier.calls).toHaveLength(1);
    // Off: the new hash is of the password exactly as typed (NFD here), never normalized.
    const off = createResilientAuth({
      providers: [oneAccount(CAFE_NFD)],
      verifier,
      rehash: true,
    });
    expect(await off.authenticate({ ...login, password: CAFE_NFD })).toMatchObject({
      rehash: `fake$v2$${CAFE_NFD}`,
    });
  });

  it('lets a legacy match in without a rehash when the verifier cannot hash', async () => {
    const logger = recordingLogger();
    const auth = createResilientAuth({
      providers: [oneAccount(TYPED)],
      verifier: recordingVerifier(),
      normalize: 'NFKC',
      rehash: true,
      logger,
    });
    const result = await auth.authenticate({ ...login, password: TYPED });
    expect(result).toMatchObject({ ok: true });
    expect(result).not.toHaveProperty('rehash');
    expect(logger.lines).toEqual([]);
  });

  it('refuses a password whose NFKC form is longer than the verifier takes, as invalid input', async () => {
    // U+FDFA expands to 18 characters (33 UTF-8 bytes) under NFKC: 3 of them fit 72 bytes only as typed.
    const long = '\uFDFA'.repeat(3);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(72);
    expect(Buffer.byteLength(long.normalize('NFKC'))).toBeGreaterThan(72);
    const verifier = recordingVerifier();
    const auth = createResilientAuth({
      providers: [oneAccount(PASSWORD)],
      verifier,
      normalize: 'NFKC',
    });
    await expect(auth.authenticate({ ...login, password: long })).resolves.toEqual({
      ok: false,
      reason: 'invalid_input',
      field: 'password',
    });
    expect(verifier.calls).toEqual([]);
  });

  it('is the only form accepted', () => {
    expect(() =>
      createResilientAuth({
        providers: [oneAccount(PASSWORD)],
        normalize: 'NFC' as 'NFKC',
      }),
    ).toThrow(/^normalize: /);
  });
});

describe('rehash on login', () => {
  /** A verifier whose target is `fake$v2$...`; the accounts' `fake$...` hashes are older. */
  function upgradingVerifier() {
    const base = recordingVerifier();
    return {
      ...base,
      hashed: [] as string[],
      needsRehash: (hash: string) => !hash.startsWith('fake$v2$'),
      async hash(password: string) {
        this.hashed.push(password);
        return `fake$v2$${password}`;
      },
    };
  }

  it('hands back a new hash when a correct password meets a weaker hash', async () => {
    const verifier = upgradingVerifier();
    const recorded = recordingHooks();
    const { auth } = twoProviders({ verifier, hooks: recorded.hooks });
    const result = await auth.authenticate(login);
    expect(result).toMatchObject({ ok: true, rehash: `fake$v2$${PASSWORD}` });
    expect(recorded.of('onRehash')).toEqual([
      {
        user: ADA,
        provider: 'primary',
        hash: `fake$v2$${PASSWORD}`,
        call: { id: 1 },
        context: {},
      },
    ]);
  });

  it('never rehashes on a wrong password, an unknown identifier, a disabled account or a strong hash', async () => {
    const verifier = upgradingVerifier();
    const strong = memoryProvider({
      name: 'strong',
      accounts: [
        ...accounts.filter((a) => a.identifier !== 'ada@example.com'),
        { identifier: 'ada@example.com', passwordHash: `fake$v2$${PASSWORD}`, user: ADA },
      ],
    });
    const verifierV2 = {
      ...verifier,
      verify: async (p: string, h: string) => h === `fake$v2$${p}` || h === fakeHash(p),
    };
    const auth = createResilientAuth({ providers: [strong], verifier: verifierV2, rehash: true });
    expect(await auth.authenticate(login)).not.toHaveProperty('rehash');
    await auth.authenticate({ ...login, password: 'wrong' });
    await auth.authenticate({ identifier: 'nobody@example.com', password: PASSWORD });
    await auth.authenticate({ identifier: 'disabled@example.com', password: PASSWORD });
    expect(verifier.hashed).toEqual([]);
  });

  it('runs only when someone stores it: rehash: true, or an onRehash hook', async () => {
    const silent = upgradingVerifier();
    const plain = createResilientAuth({
      providers: [memoryProvider({ name: 'users', accounts })],
      verifier: silent,
    });
    expect(await plain.authenticate(login)).not.toHaveProperty('rehash');
    const otherHooks = createResilientAuth({
      providers: [memoryProvider({ name: 'users', accounts })],
      verifier: silent,
      hooks: { onAttempt: () => undefined },
    });
    expect(await otherHooks.authenticate(login)).not.toHaveProperty('rehash');
    const off = twoProviders({ verifier: silent, rehash: false });
    expect(await off.auth.authenticate(login)).not.toHaveProperty('rehash');
    expect(off.of('onRehash')).toEqual([]);
    expect(silent.hashed).toEqual([]);

    const asked = createResilientAuth({
      providers: [memoryProvider({ name: 'users', accounts })],
      verifier: silent,
      rehash: true,
    });
    expect(await asked.authenticate(login)).toMatchObject({ rehash: `fake$v2$${PASSWORD}` });
    expect(silent.hashed).toEqual([PASSWORD]);
  });

  it('lets the login in without a rehash when hashing fails, and says so without the password', async () => {
    const logger = recordingLogger();
    const verifier = {
      ...recordingVerifier(),
      needsRehash: () => true,
      hashed: 0,
      async hash(password: string): Promise<string> {
        if (this.hashed++ === 0) throw new Error(`cannot hash ${password}`);
        throw new ResilientAuthError('VERIFIER_FAILED', 'worker died');
      },
    };
    const { auth } = twoProviders({ verifier, logger });
    const result = await auth.authenticate(login);
    expect(result).toMatchObject({ ok: true });
    expect(result).not.toHaveProperty('rehash');
    // A library error other than OVERLOADED is reported too.
    await auth
      .authenticate({ identifier: 'rotate@example.com', password: PASSWORD })
      .catch(() => 0);
    expect(logger.lines).toEqual([
      {
        level: 'warn',
        message: 'rehashing a password failed; login unaffected, the old hash stays',
        meta: { provider: 'primary', error: expect.any(String) },
      },
      expect.objectContaining({
        level: 'warn',
        meta: { provider: 'primary', error: 'worker died' },
      }),
    ]);
    // The error's own message quoted the password: safeMessage does not know that, so the test
    // documents that a verifier must not put the password in its errors; the message we write does not.
    expect(logger.lines[0]?.message).not.toContain(PASSWORD);
  });

  it('never waits for a thread: under load it is skipped quietly, and the next login tries again', async () => {
    const logger = recordingLogger();
    const waits: unknown[] = [];
    let busy = true;
    const verifier = {
      ...recordingVerifier(),
      needsRehash: () => true,
      hash: async (password: string, options?: { maxWaitMs?: number }) => {
        waits.push(options?.maxWaitMs);
        if (busy) throw new ResilientAuthError('OVERLOADED', 'no thread free now');
        return `fake$v2$${password}`;
      },
    };
    const { auth } = twoProviders({ verifier, logger });
    expect(await auth.authenticate(login)).not.toHaveProperty('rehash');
    busy = false;
    expect(await auth.authenticate(login)).toMatchObject({ rehash: `fake$v2$${PASSWORD}` });
    expect(waits).toEqual([0, 0]);
    expect(logger.lines).toEqual([]);
  });

  it('refuses a verifier with needsRehash but no hash (or the other way round)', () => {
    const { needsRehash: _, ...onlyHash } = {
      ...recordingVerifier(),
      needsRehash: () => true,
      hash: async () => 'x',
    };
    const thrown = thrownBy(() => twoProviders({ verifier: onlyHash }));
    expect(isConfigError(thrown) && thrown.message).toBe(
      'verifier.needsRehash: needsRehash and hash come together: give both or neither',
    );
    expect(() =>
      twoProviders({ verifier: { ...recordingVerifier(), needsRehash: () => true } }),
    ).toThrow('verifier.hash: needsRehash and hash come together: give both or neither');
  });
});

describe('hook sets that hold resources', () => {
  it('are listed by health() with what they report, and one that throws is not ok', () => {
    const audit: AuthHooks = {
      onAttempt: () => undefined,
      health: () => ({ name: 'audit', ok: true, counts: { buffered: 2, written: 5, dropped: 0 } }),
    };
    const broken: AuthHooks = {
      health: () => {
        throw new Error('postgres://app:hunter2@db/app unreachable');
      },
    };
    const { auth } = twoProviders({ hooks: [{}, audit, broken] });
    expect(auth.health().hookSets).toEqual([
      { name: 'audit', ok: true, counts: { buffered: 2, written: 5, dropped: 0 } },
      {
        name: 'hook set #2',
        ok: false,
        message: expect.not.stringContaining('hunter2'),
        counts: {},
      },
    ]);
    expect(twoProviders().auth.health()).not.toHaveProperty('hookSets');
  });

  it('are closed by close() after the calls in flight finished, and a failing close is logged', async () => {
    const order: string[] = [];
    const logger = recordingLogger();
    const { auth, primary } = twoProviders({
      logger,
      hooks: [
        {
          onAttempt: () => void order.push('attempt'),
          close: async () => void order.push('closed'),
        },
        {
          close: async () => {
            throw new Error('flush failed');
          },
        },
      ],
    });
    primary.delay(20);
    const pending = auth.authenticate(login);
    await auth.close();
    await pending;
    expect(order).toEqual(['attempt', 'closed']);
    expect(logger.lines).toEqual([
      expect.objectContaining({ level: 'warn', message: 'closing hook set #1 failed' }),
    ]);
  });

  it('refuses health or close that are not functions', () => {
    expect(() => twoProviders({ hooks: { close: 'soon' as never } })).toThrow(/^hooks\.close: /);
  });
});

describe('the dummy check of an unknown identifier', () => {
  /** The fixture accounts in the old format, one more in the new, and a dummy per format. */
  function twoFormats() {
    const verifier = {
      ...recordingVerifier(),
      dummyHash: (like: string | undefined) =>
        like?.startsWith('fake$v2$') ? 'fake$v2$\u0000dummy' : FAKE_DUMMY,
    };
    const users = memoryProvider({
      name: 'users',
      accounts: [
        ...accounts,
        { identifier: 'new@example.com', passwordHash: `fake$v2$${PASSWORD}`, user: ADA },
      ],
    });
    return { auth: createResilientAuth({ providers: [users], verifier }), verifier };
  }

  it('costs what most real hashes found lately cost, and one request cannot choose it', async () => {
    const { auth, verifier } = twoFormats();
    const dummyOfNextMiss = async () => {
      await auth.authenticate({ identifier: 'nobody@example.com', password: 'x' });
      return verifier.calls.at(-1)?.hash;
    };
    expect(await dummyOfNextMiss()).toBe(FAKE_DUMMY);
    // Two logins against old-format accounts, then one failed login against the new one.
    await auth.authenticate(login);
    await auth.authenticate({ ...login, identifier: 'rotate@example.com' });
    await auth.authenticate({ identifier: 'new@example.com', password: 'wrong' });
    expect(await dummyOfNextMiss()).toBe(FAKE_DUMMY);
    // A tie keeps the one in use.
    await auth.authenticate({ identifier: 'new@example.com', password: 'wrong' });
    expect(await dummyOfNextMiss()).toBe(FAKE_DUMMY);
    // Once most hashes found are of the new format, the dummy follows.
    await auth.authenticate({ identifier: 'new@example.com', password: 'wrong' });
    expect(await dummyOfNextMiss()).toBe('fake$v2$\u0000dummy');
  });

  it('forgets old counts (they halve past 1024), so a finished migration moves it', async () => {
    const { auth, verifier } = twoFormats();
    for (let i = 0; i < 1100; i++) await auth.authenticate(login);
    // 1024 halved to 512, plus 76: 588 old. Without halving, 1100.
    for (let i = 0; i < 600; i++) {
      await auth.authenticate({ identifier: 'new@example.com', password: 'wrong' });
    }
    await auth.authenticate({ identifier: 'nobody@example.com', password: 'x' });
    expect(verifier.calls.at(-1)?.hash).toBe('fake$v2$\u0000dummy');
  });
});
