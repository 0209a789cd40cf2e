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
import { recordingVerifier } from '../support/fakes.js';
import { PASSWORD, twoProviders } from '../support/fixtures.js';

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
    const slow = memoryProvider({ name: 'slow', accounts: [] });
    const auth = createResilientAuth({
      providers: [
        { provider: slow, policy: { timeoutMs: 10 } },
        memoryProvider({ name: 'ok', accounts: [] }),
      ],
      policy: { timeoutMs: 5000, retry: { maxAttempts: 1 } },
      verifier: recordingVerifier(),
    });
    slow.delay(1000);
    await expect(auth.authenticate({ identifier: 'a@b', password: 'x' })).resolves.toEqual({
      ok: false,
      reason: 'invalid_credentials',
    });
    expect(slow.lookups).toBe(1);
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
