import { describe, expect, it } from 'vitest';
import { createResilientAuth, memoryProvider } from '../../src/index.js';
import { manualClock } from '../../src/testing/index.js';
import { fakeHash, recordingLogger, recordingVerifier } from '../support/fakes.js';
import { PASSWORD, recordingHooks, twoProviders } from '../support/fixtures.js';

describe('account state is revealed only after a correct password', () => {
  it('disabled: account_disabled with the right password, invalid_credentials with a wrong one', async () => {
    const { auth, of } = twoProviders();
    await expect(
      auth.authenticate({ identifier: 'disabled@example.com', password: 'wrong' }),
    ).resolves.toEqual({
      ok: false,
      reason: 'invalid_credentials',
    });
    await expect(
      auth.authenticate({ identifier: 'disabled@example.com', password: PASSWORD }),
    ).resolves.toEqual({
      ok: false,
      reason: 'account_disabled',
    });
    expect(of('onAttempt').map((e) => (e as { cause: string }).cause)).toEqual([
      'wrong_password',
      'account_disabled',
    ]);
  });

  it('locked: account_locked with retryAfterMs while the lock lasts, then granted', async () => {
    const clock = manualClock();
    const lockedUntil = new Date(clock.now() + 60_000);
    const provider = memoryProvider({
      accounts: [
        {
          identifier: 'bob@example.com',
          passwordHash: fakeHash(PASSWORD),
          user: { id: 7 },
          lockedUntil,
        },
      ],
    });
    const auth = createResilientAuth({
      providers: [provider],
      verifier: recordingVerifier(),
      clock,
    });
    await expect(
      auth.authenticate({ identifier: 'bob@example.com', password: 'wrong' }),
    ).resolves.toEqual({
      ok: false,
      reason: 'invalid_credentials',
    });
    await expect(
      auth.authenticate({ identifier: 'bob@example.com', password: PASSWORD }),
    ).resolves.toEqual({
      ok: false,
      reason: 'account_locked',
      retryAfterMs: 60_000,
    });
    clock.advance(60_000);
    await expect(
      auth.authenticate({ identifier: 'bob@example.com', password: PASSWORD }),
    ).resolves.toMatchObject({
      ok: true,
      user: { id: 7 },
    });
  });

  it('reports mustChangePassword', async () => {
    const { auth } = twoProviders();
    await expect(
      auth.authenticate({ identifier: 'rotate@example.com', password: PASSWORD }),
    ).resolves.toMatchObject({
      ok: true,
      mustChangePassword: true,
    });
  });

  it('fails closed on account fields a provider got wrong: active not true, lock not a date', async () => {
    const verifier = recordingVerifier();
    const provider = {
      name: 'sloppy',
      findAccount: async (identifier: string) =>
        identifier === 'a@x'
          ? { user: {}, passwordHash: fakeHash(PASSWORD), active: 'yes' as unknown as boolean }
          : {
              user: {},
              passwordHash: fakeHash(PASSWORD),
              active: true,
              lockedUntil: 'soon' as unknown as Date,
            },
    };
    const auth = createResilientAuth({ providers: [provider], verifier });
    await expect(
      auth.authenticate({ identifier: 'a@x', password: PASSWORD }),
    ).resolves.toMatchObject({
      reason: 'account_disabled',
    });
    await expect(
      auth.authenticate({ identifier: 'b@x', password: PASSWORD }),
    ).resolves.toMatchObject({
      reason: 'account_locked',
    });
  });
});

describe('a malformed stored hash', () => {
  it.each([
    ['empty', ''],
    ['null', null],
    ['not a hash', 'hunter2'],
  ])(
    '%s: denies without throwing, alerts, and still costs one full (dummy) verification',
    async (_, hash) => {
      const verifier = recordingVerifier();
      const { hooks, of } = recordingHooks();
      const provider = {
        name: 'broken-data',
        findAccount: async () => ({ user: { id: 1 }, passwordHash: hash as string, active: true }),
      };
      const auth = createResilientAuth({
        providers: [provider],
        verifier,
        hooks,
        logger: recordingLogger(),
      });
      await expect(
        auth.authenticate({ identifier: 'ada@example.com', password: 'hunter2' }),
      ).resolves.toEqual({
        ok: false,
        reason: 'invalid_credentials',
      });
      expect(verifier.calls).toHaveLength(1);
      expect(verifier.calls[0]?.hash).not.toBe(hash);
      expect(of('onInvalidHash')).toEqual([
        { provider: 'broken-data', identifier: 'ada@example.com' },
      ]);
      expect(of('onAttempt')).toEqual([expect.objectContaining({ cause: 'malformed_hash' })]);
    },
  );
});
