import { describe, expect, it } from 'vitest';
import { createResilientAuth, isAuthUnavailableError, memoryProvider } from '../../src/index.js';
import { fakeHash, pgError, recordingVerifier } from '../support/fakes.js';

const PASSWORD = 'open sesame';

function stores() {
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
  const auth = createResilientAuth({ mode: 'federated', providers: [local, legacy], verifier });
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
