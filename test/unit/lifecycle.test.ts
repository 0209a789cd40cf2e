import { readdirSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import {
  bcryptVerifier,
  ConfigError,
  createResilientAuth,
  hashPassword,
  isConfigError,
  isResilientAuthError,
  memoryProvider,
  type ResilientAuthOptions,
} from '../../src/index.js';
import { fakeHash, recordingLogger, recordingVerifier } from '../support/fakes.js';
import { accounts, closeRecordingAuth, PASSWORD, twoProviders } from '../support/fixtures.js';

const provider = memoryProvider({ name: 'p', accounts: [] });

describe('configuration is validated at construction', () => {
  it.each([
    ['providers', { providers: [] }],
    ['providers.0.findAccount', { providers: [{ name: 'x' }] }],
    ['providers.0.name', { providers: [{ name: '', findAccount: async () => null }] }],
    ['providers.0.policy.timeoutMs', { providers: [{ provider, policy: { timeoutMs: -1 } }] }],
    ['policy.retry.maxAttempts', { providers: [provider], policy: { retry: { maxAttempts: 0 } } }],
    ['policy.breaker', { providers: [provider], policy: { breaker: { consecutiveFailures: 0 } } }],
    ['mode', { providers: [provider], mode: 'roundrobin' }],
    ['deadlineMs', { providers: [provider], deadlineMs: 1.5 }],
    ['providers.1.name', { providers: [provider, memoryProvider({ name: 'p', accounts: [] })] }],
    ['policy.timoutMs', { providers: [provider], policy: { timoutMs: 100 } }],
  ])('a bad %s throws ConfigError naming it', (option, options) => {
    let error: unknown;
    try {
      createResilientAuth(options as unknown as ResilientAuthOptions);
    } catch (e) {
      error = e;
    }
    expect(isConfigError(error)).toBe(true);
    expect(error).toBeInstanceOf(ConfigError);
    if (!isConfigError(error)) return;
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message.startsWith(option === 'policy.timoutMs' ? 'policy' : option)).toBe(true);
  });

  it('isolate/reset of an unknown provider is a ConfigError listing the known ones', () => {
    const { auth } = twoProviders();
    expect(() => auth.isolate('orm')).toThrow(
      /no provider named "orm" \(have: primary, fallback\)/,
    );
  });

  it('per-provider policy overrides the global one field by field', async () => {
    // Both providers hold the account, so which one answered shows which timeout applied.
    const slow = memoryProvider({ name: 'slow', accounts });
    const auth = createResilientAuth({
      providers: [
        { provider: slow, policy: { timeoutMs: 10 } },
        memoryProvider({ name: 'ok', accounts }),
      ],
      policy: { timeoutMs: 5000, retry: { maxAttempts: 1 } },
      verifier: recordingVerifier(),
    });
    slow.delay(200);
    await expect(
      auth.authenticate({ identifier: 'ada@example.com', password: PASSWORD }),
    ).resolves.toMatchObject({
      ok: true,
      provider: 'ok',
      degraded: true,
    });
    expect(slow.lookups).toBe(1);
    expect(auth.health().providers[0]?.lastFailure).toMatchObject({
      code: 'PROVIDER_TIMEOUT',
      message: 'provider "slow" did not answer within 10 ms',
    });
  });
});

describe('memoryProvider seeds', () => {
  it('refuses a password seed over 72 UTF-8 bytes instead of truncating it, naming the account', () => {
    const seed = (password: string) => () =>
      memoryProvider({
        accounts: [
          { identifier: 'a@x', password: 'ok', user: {} },
          { identifier: 'b@x', password, user: {} },
        ],
      });
    expect(seed('€'.repeat(25))).toThrow(ConfigError);
    expect(seed('€'.repeat(25))).toThrow(/^accounts\.1\.password: is longer than 72 UTF-8 bytes/);
    expect(seed('')).toThrow(/^accounts\.1\.password: must not be empty/);
    expect(seed('€'.repeat(24))).not.toThrow();
  });

  it('hashes a 72-byte seed whole: one more byte is a different password', async () => {
    const password = 'x'.repeat(72);
    const auth = createResilientAuth({
      providers: [
        memoryProvider({
          hashCost: 4,
          accounts: [{ identifier: 'a@x', password, user: { id: 1 } }],
        }),
      ],
      verifier: bcryptVerifier({ threads: 0 }),
    });
    await expect(auth.authenticate({ identifier: 'a@x', password })).resolves.toMatchObject({
      ok: true,
    });
    await expect(
      auth.authenticate({ identifier: 'a@x', password: 'x'.repeat(71) }),
    ).resolves.toMatchObject({
      ok: false,
      reason: 'invalid_credentials',
    });
  });

  it('refuses a hashCost bcrypt does not take', () => {
    expect(() => memoryProvider({ hashCost: 3, accounts: [] })).toThrow(/^hashCost: /);
  });
});

describe('close()', () => {
  it('closes every provider once, then refuses to authenticate with a typed error', async () => {
    const closed: string[] = [];
    const make = (name: string) => ({
      name,
      findAccount: async () => null,
      close: async () => {
        closed.push(name);
      },
    });
    const auth = createResilientAuth({
      providers: [make('a'), make('b')],
      verifier: recordingVerifier(),
    });
    await Promise.all([auth.close(), auth.close()]);
    expect(closed).toEqual(['a', 'b']);
    const error = await auth
      .authenticate({ identifier: 'x', password: 'y' })
      .catch((e: unknown) => e);
    expect(isResilientAuthError(error) && error.code).toBe('CLOSED');
  });

  it('leaves no handle open: worker threads and timers are gone', async () => {
    const osThreads = () => readdirSync('/proc/self/task').length;
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const passwordHash = await hashPassword(PASSWORD, 4);
    const baseline = { threads: osThreads(), timers: timers() };
    const primary = memoryProvider({
      name: 'primary',
      accounts: [{ identifier: 'ada@example.com', passwordHash, user: { id: 1 } }],
    });
    const auth = createResilientAuth({
      providers: [primary, memoryProvider({ name: 'b', accounts: [] })],
      verifier: bcryptVerifier({ threads: 2 }),
    });
    await expect(
      auth.authenticate({ identifier: 'ada@example.com', password: PASSWORD }),
    ).resolves.toMatchObject({ ok: true });
    primary.delay(50);
    const pending = auth.authenticate({ identifier: 'ada@example.com', password: 'wrong' });
    expect(timers()).toBeGreaterThan(baseline.timers);
    await pending;
    expect(osThreads()).toBeGreaterThanOrEqual(baseline.threads + 2);
    await auth.close();
    await vi.waitFor(() => expect(osThreads()).toBe(baseline.threads));
    expect(timers()).toBeLessThanOrEqual(baseline.timers);
  });
});

describe('close() with calls in flight', () => {
  it('lets calls in flight finish, refuses new ones with CLOSED, then closes the providers', async () => {
    const { auth, primary, closed } = closeRecordingAuth();
    primary.delay(50);
    const inFlight = auth.authenticate({ identifier: 'ada@example.com', password: PASSWORD });
    await vi.waitFor(() => expect(primary.lookups).toBe(1));
    const closing = auth.close();
    await expect(
      auth.authenticate({ identifier: 'ada@example.com', password: PASSWORD }),
    ).rejects.toMatchObject({
      code: 'CLOSED',
    });
    expect(closed).toEqual([]);
    await expect(inFlight).resolves.toMatchObject({ ok: true, provider: 'primary' });
    await closing;
    expect(closed).toEqual(['primary']);
  });

  it('does not wait longer than the deadline plus 5 s for a call that hangs', async () => {
    vi.useFakeTimers();
    try {
      const closed: string[] = [];
      const hanging = {
        name: 'hanging',
        findAccount: () => new Promise<never>(() => undefined),
        close: async () => void closed.push('hanging'),
      };
      const verifier = recordingVerifier();
      verifier.verify = () => new Promise<never>(() => undefined);
      const auth = createResilientAuth({
        providers: [
          {
            name: 'p',
            findAccount: async () => ({ user: {}, passwordHash: fakeHash('x'), active: true }),
          },
          hanging,
        ],
        verifier,
        deadlineMs: 1000,
      });
      void auth.authenticate({ identifier: 'a@x', password: 'x' });
      await vi.advanceTimersByTimeAsync(0);
      const closing = auth.close();
      await vi.advanceTimersByTimeAsync(5999);
      expect(closed).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      await closing;
      expect(closed).toEqual(['hanging']);
    } finally {
      vi.useRealTimers();
    }
  });

  it("closes every other provider and the verifier when one provider's close() throws, and reports it", async () => {
    const closed: string[] = [];
    const logger = recordingLogger();
    const verifier = recordingVerifier();
    const auth = createResilientAuth({
      providers: [
        { name: 'a', findAccount: async () => null, close: async () => void closed.push('a') },
        {
          name: 'b',
          findAccount: async () => null,
          close: async () => {
            throw new Error('pool end failed: postgres://app:s3cret@db/app');
          },
        },
        { name: 'c', findAccount: async () => null, close: async () => void closed.push('c') },
      ],
      verifier: { ...verifier, close: async () => void closed.push('verifier') },
      logger,
    });
    await expect(auth.close()).resolves.toBeUndefined();
    expect(closed.sort()).toEqual(['a', 'c', 'verifier']);
    expect(logger.lines).toEqual([
      {
        level: 'warn',
        message: 'closing provider "b" failed',
        meta: { error: 'pool end failed: postgres://app:***@db/app' },
      },
    ]);
  });
});
