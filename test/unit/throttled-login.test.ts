import { describe, expect, it } from 'vitest';
import {
  isAuthUnavailableError,
  ResilientAuthError,
  type ThrottleOptions,
} from '../../src/index.js';
import { PASSWORD, twoProviders } from '../support/fixtures.js';

const ip = '203.0.113.7';
const wrong = { identifier: 'ada@example.com', password: 'wrong', context: { ip } };
const right = { identifier: 'ada@example.com', password: PASSWORD, context: { ip } };

/** An instance with a small consecutive limit and the other limits off, unless given. */
function throttled(
  throttle: ThrottleOptions = {},
  options: Parameters<typeof twoProviders>[0] = {},
) {
  return twoProviders({
    throttle: { consecutive: { limit: 3 }, ip: false, account: false, ...throttle },
    ...options,
  });
}

async function failTimes(auth: ReturnType<typeof twoProviders>['auth'], n: number) {
  for (let i = 0; i < n; i++) {
    expect(await auth.authenticate(wrong)).toEqual({ ok: false, reason: 'invalid_credentials' });
  }
}

describe('createResilientAuth({ throttle })', () => {
  it('answers rate_limited after the limit, before any lookup or password check', async () => {
    const { auth, primary, fallback, verifier, of } = throttled();
    await failTimes(auth, 3);
    const lookups = primary.lookups + fallback.lookups;
    const checks = verifier.calls.length;

    const refused = await auth.authenticate(right);
    expect(refused).toEqual({
      ok: false,
      reason: 'rate_limited',
      retryAfterMs: expect.any(Number),
    });
    expect(
      refused.ok === false && refused.reason === 'rate_limited' && refused.retryAfterMs,
    ).toBeGreaterThan(3_500_000);
    expect(primary.lookups + fallback.lookups).toBe(lookups);
    expect(verifier.calls.length).toBe(checks);
    expect(of('onAttempt').at(-1)).toEqual({
      outcome: 'rejected',
      call: { id: 4 },
      cause: 'rate_limited',
      limit: 'consecutive',
      identifier: 'ada@example.com',
      degraded: false,
      durationMs: expect.any(Number),
      context: { ip },
    });
  });

  it('counts unknown identifiers like wrong passwords, and keys the identifier case-insensitively', async () => {
    const { auth } = throttled();
    await auth.authenticate({ ...wrong, identifier: 'ADA@example.com' });
    await auth.authenticate({ ...wrong, identifier: 'nobody@example.com' });
    await auth.authenticate(wrong);
    await auth.authenticate(wrong);
    // 'nobody' has one failure of its own; Ada's three (two spellings) reached the limit.
    expect(await auth.authenticate(right)).toMatchObject({ reason: 'rate_limited' });
    expect(await auth.authenticate({ ...right, identifier: 'nobody@example.com' })).toMatchObject({
      reason: 'invalid_credentials',
    });
  });

  it('resets the consecutive count on a correct password', async () => {
    const { auth } = throttled();
    await failTimes(auth, 2);
    expect(await auth.authenticate(right)).toMatchObject({ ok: true });
    await failTimes(auth, 3);
    expect(await auth.authenticate(right)).toMatchObject({ reason: 'rate_limited' });
  });

  it('never counts invalid input, an outage, an overload, or the right password of a disabled account', async () => {
    const { auth, primary, fallback, verifier } = throttled();
    for (let i = 0; i < 5; i++) {
      expect(await auth.authenticate({ ...wrong, password: '' })).toMatchObject({
        reason: 'invalid_input',
      });
      expect(
        await auth.authenticate({ ...right, identifier: 'disabled@example.com' }),
      ).toMatchObject({ reason: 'account_disabled' });
    }
    primary.fail();
    fallback.fail();
    for (let i = 0; i < 5; i++) {
      const error = await auth.authenticate(wrong).catch((e: unknown) => e);
      expect(isAuthUnavailableError(error)).toBe(true);
    }
    primary.recover();
    fallback.recover();
    auth.reset('primary');
    auth.reset('fallback');
    const verify = verifier.verify;
    verifier.verify = async () => {
      throw new ResilientAuthError('OVERLOADED', 'no verifier thread free within 0 ms');
    };
    for (let i = 0; i < 5; i++) {
      const error = await auth.authenticate(wrong).catch((e: unknown) => e);
      expect(isAuthUnavailableError(error) && error.failures[0]?.code).toBe('OVERLOADED');
    }
    verifier.verify = verify;
    // Ada still has her whole budget of three.
    await failTimes(auth, 3);
    expect(await auth.authenticate(right)).toMatchObject({ reason: 'rate_limited' });
  });

  it('counts a guess refused in NFKC form even when its form as typed was shed', async () => {
    const { auth, verifier } = throttled({}, { normalize: 'NFKC' });
    const check = verifier.verify;
    // The second check (the password as typed, full-width) is shed; the first one refused the guess.
    verifier.verify = async (password, hash, options) => {
      if (password !== password.normalize('NFKC')) {
        throw new ResilientAuthError('OVERLOADED', 'no verifier thread free within 0 ms');
      }
      return check(password, hash, options);
    };
    for (let i = 0; i < 3; i++) {
      const error = await auth.authenticate({ ...wrong, password: 'ｗｒｏｎｇ' }).catch((e) => e);
      expect(isAuthUnavailableError(error)).toBe(true);
    }
    expect(await auth.authenticate(right)).toMatchObject({ reason: 'rate_limited' });
  });

  it('applies the per-account limit whatever the IP, and the per-IP limit whatever the account', async () => {
    const perAccount = throttled({
      consecutive: false,
      account: { limit: 4, firstWaitMs: 60_000, maxWaitMs: 900_000 },
    });
    for (let i = 0; i < 5; i++) {
      await perAccount.auth.authenticate({ ...wrong, context: { ip: `198.51.100.${i}` } });
    }
    expect(await perAccount.auth.authenticate({ ...right, context: { ip: '192.0.2.1' } })).toEqual({
      ok: false,
      reason: 'rate_limited',
      retryAfterMs: expect.any(Number),
    });

    const perIp = throttled({ consecutive: false, ip: { limit: 2 } });
    await perIp.auth.authenticate({ ...wrong, identifier: 'a@example.com' });
    await perIp.auth.authenticate({ ...wrong, identifier: 'b@example.com' });
    expect(await perIp.auth.authenticate(right)).toMatchObject({ reason: 'rate_limited' });
    expect(await perIp.auth.authenticate({ ...right, context: { ip: '192.0.2.1' } })).toMatchObject(
      {
        ok: true,
      },
    );
  });

  it('shows the store in health() and refuses bad throttle options, naming them', () => {
    expect(throttled().auth.health().throttle).toEqual({ store: 'memory', storeOk: true });
    expect(twoProviders().auth.health()).not.toHaveProperty('throttle');
    expect(() => throttled({ consecutive: { limit: 0 } })).toThrow(
      /^throttle\.consecutive\.limit: /,
    );
    expect(() => twoProviders({ throttle: { store: { type: 'mongo' } as never } })).toThrow(
      /^throttle\.store/,
    );
  });
});
