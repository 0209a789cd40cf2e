import { describe, expect, it, vi } from 'vitest';
import {
  createResilientAuth,
  isAuthUnavailableError,
  memoryProvider,
  type ResilientAuthOptions,
} from '../../src/index.js';
import { fakeHash, pgError, recordingVerifier } from '../support/fakes.js';

const PASSWORD = 'open sesame';

function stores(options: Partial<ResilientAuthOptions<{ id: string }>> = {}) {
  const local = memoryProvider({
    name: 'local',
    accounts: [
      { identifier: 'new@example.com', passwordHash: fakeHash(PASSWORD), user: { id: 'n1' } },
    ],
  });
  const legacy = memoryProvider({
    name: 'legacy',
    accounts: [
      { identifier: 'old@example.com', passwordHash: fakeHash(PASSWORD), user: { id: 'o1' } },
    ],
  });
  const verifier = recordingVerifier();
  const auth = createResilientAuth({
    mode: 'federated',
    providers: [local, legacy],
    verifier,
    ...options,
  });
  return { auth, local, legacy, verifier };
}

describe('federated mode', () => {
  it('moves on when a store does not know the identifier; the store that finds it decides', async () => {
    const { auth, local, legacy } = stores();
    const result = await auth.authenticate({ identifier: 'old@example.com', password: PASSWORD });
    expect(result).toMatchObject({
      ok: true,
      user: { id: 'o1' },
      provider: 'legacy',
      degraded: false,
    });
    expect([local.lookups, legacy.lookups]).toEqual([1, 1]);
  });

  it('stops at the first store that finds the account, even on a wrong password', async () => {
    const { auth, legacy, verifier } = stores();
    const result = await auth.authenticate({ identifier: 'new@example.com', password: 'nope' });
    expect(result).toEqual({ ok: false, reason: 'invalid_credentials' });
    expect(legacy.lookups).toBe(0);
    expect(verifier.calls).toHaveLength(1);
  });

  it('unknown everywhere: invalid_credentials after exactly one (dummy) verification', async () => {
    const { auth, verifier } = stores();
    const result = await auth.authenticate({ identifier: 'ghost@example.com', password: PASSWORD });
    expect(result).toEqual({ ok: false, reason: 'invalid_credentials' });
    expect(verifier.calls).toHaveLength(1);
  });

  it('a failed store and no account elsewhere is unavailable, not invalid_credentials', async () => {
    const { auth, legacy, verifier } = stores();
    legacy.fail(pgError('08006', 'connection failure'));
    const error = await auth
      .authenticate({ identifier: 'ghost@example.com', password: PASSWORD })
      .catch((e: unknown) => e);
    expect(isAuthUnavailableError(error)).toBe(true);
    if (isAuthUnavailableError(error)) {
      expect(error.failures).toEqual([
        expect.objectContaining({ provider: 'legacy', code: '08006' }),
      ]);
      expect(error.message).toMatch(/might hold it/);
    }
    expect(verifier.calls).toHaveLength(0);
  });

  it('a failed store before the one that finds the account: granted, degraded', async () => {
    const { auth, local } = stores();
    local.fail(pgError('57P01'));
    const result = await auth.authenticate({ identifier: 'old@example.com', password: PASSWORD });
    expect(result).toMatchObject({ ok: true, provider: 'legacy', degraded: true });
  });
});

describe('federated mode with breakers, the deadline and health', () => {
  const breaking = { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 2 } };

  it('a store whose breaker is open is skipped at no cost; what only it could answer is unavailable', async () => {
    const local = memoryProvider({
      name: 'local',
      accounts: [
        { identifier: 'new@example.com', passwordHash: fakeHash(PASSWORD), user: { id: 'n1' } },
      ],
    });
    const legacy = memoryProvider({ name: 'legacy', accounts: [] });
    const auth = createResilientAuth({
      mode: 'federated',
      providers: [local, legacy],
      verifier: recordingVerifier(),
      policy: breaking,
    });
    legacy.fail(pgError('08006'));
    for (let i = 0; i < 2; i++) {
      await auth
        .authenticate({ identifier: 'ghost@example.com', password: PASSWORD })
        .catch(() => undefined);
    }
    expect(auth.health()).toMatchObject({
      status: 'unhealthy',
      providers: [
        { name: 'local', state: 'closed' },
        { name: 'legacy', state: 'open' },
      ],
    });

    // The local store still decides for its own accounts, without asking legacy.
    await expect(
      auth.authenticate({ identifier: 'new@example.com', password: PASSWORD }),
    ).resolves.toMatchObject({
      ok: true,
      provider: 'local',
      degraded: false,
    });
    expect(auth.health().status).toBe('degraded');
    const error = await auth
      .authenticate({ identifier: 'ghost@example.com', password: PASSWORD })
      .catch((e: unknown) => e);
    expect(isAuthUnavailableError(error) && error.failures).toEqual([
      expect.objectContaining({ provider: 'legacy', skipped: 'circuit_open', attempts: 0 }),
    ]);
    expect(legacy.lookups).toBe(2);
  });

  it('the deadline covers every store: a hanging first store leaves no time for the second', async () => {
    vi.useFakeTimers();
    try {
      const { auth, local, legacy } = stores({ deadlineMs: 300, policy: { timeoutMs: 1000 } });
      local.hang();
      const pending = auth
        .authenticate({ identifier: 'old@example.com', password: PASSWORD })
        .catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(300);
      const error = await pending;
      expect(
        isAuthUnavailableError(error) && error.failures.map((f) => [f.provider, f.code, f.skipped]),
      ).toEqual([
        ['local', 'DEADLINE_EXCEEDED', undefined],
        ['legacy', 'DEADLINE_EXCEEDED', 'deadline_exceeded'],
      ]);
      expect(legacy.lookups).toBe(0);
      expect(auth.health().status).toBe('unhealthy');
    } finally {
      vi.useRealTimers();
    }
  });

  it('health is degraded while any store cannot serve, healthy again once all answer', async () => {
    const { auth, legacy } = stores({ policy: breaking });
    legacy.fail(pgError('57P01'), 1);
    await expect(
      auth.authenticate({ identifier: 'ghost@example.com', password: PASSWORD }),
    ).rejects.toThrow();
    expect(auth.health()).toMatchObject({
      status: 'unhealthy',
      providers: [
        { name: 'local' },
        { name: 'legacy', lastFailure: { code: '57P01', kind: 'connection' } },
      ],
    });
    await expect(
      auth.authenticate({ identifier: 'new@example.com', password: PASSWORD }),
    ).resolves.toMatchObject({
      ok: true,
    });
    expect(auth.health().status).toBe('healthy');
    await expect(
      auth.authenticate({ identifier: 'ghost@example.com', password: PASSWORD }),
    ).resolves.toEqual({
      ok: false,
      reason: 'invalid_credentials',
    });
    auth.isolate('legacy');
    expect(auth.health().status).toBe('degraded');
  });
});
