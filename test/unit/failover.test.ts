import { describe, expect, it } from 'vitest';
import { createResilientAuth, isAuthUnavailableError } from '../../src/index.js';
import { FAKE_DUMMY, pgError, recordingVerifier } from '../support/fakes.js';
import { ADA, PASSWORD, twoProviders } from '../support/fixtures.js';

describe('failover mode (the default)', () => {
  it('grants a correct password from the primary, not degraded', async () => {
    const { auth, fallback } = twoProviders();
    const result = await auth.authenticate({ identifier: 'ada@example.com', password: PASSWORD });
    expect(result).toEqual({
      ok: true,
      user: ADA,
      provider: 'primary',
      degraded: false,
      mustChangePassword: false,
    });
    expect(fallback.lookups).toBe(0);
  });

  it('stops on a wrong password: one verification, zero lookups on the fallback', async () => {
    const { auth, primary, fallback, verifier } = twoProviders();
    const result = await auth.authenticate({ identifier: 'ada@example.com', password: 'wrong' });
    expect(result).toEqual({ ok: false, reason: 'invalid_credentials' });
    expect(verifier.calls).toHaveLength(1);
    expect(primary.lookups).toBe(1);
    expect(fallback.lookups).toBe(0);
  });

  it('stops on an unknown identifier: the same answer, one dummy verification, no fallback lookup', async () => {
    const { auth, fallback, verifier, of } = twoProviders();
    const result = await auth.authenticate({
      identifier: 'nobody@example.com',
      password: PASSWORD,
    });
    expect(result).toEqual({ ok: false, reason: 'invalid_credentials' });
    expect(verifier.calls).toEqual([{ password: PASSWORD, hash: FAKE_DUMMY }]);
    expect(fallback.lookups).toBe(0);
    expect(of('onAttempt')).toEqual([
      expect.objectContaining({
        outcome: 'rejected',
        cause: 'unknown_identifier',
        provider: 'primary',
      }),
    ]);
  });

  it('falls over when the primary cannot answer, and says so', async () => {
    const { auth, primary, fallback, of } = twoProviders();
    primary.fail(pgError('42703', 'column "must_change_password" does not exist'));
    const result = await auth.authenticate({ identifier: 'ada@example.com', password: PASSWORD });
    expect(result).toMatchObject({ ok: true, provider: 'fallback', degraded: true, user: ADA });
    expect(fallback.lookups).toBe(1);
    expect(of('onFallback')).toEqual([
      expect.objectContaining({
        provider: 'fallback',
        failures: [expect.objectContaining({ provider: 'primary', code: '42703', attempts: 1 })],
      }),
    ]);
  });

  it('a wrong password answered by the fallback is still invalid_credentials, not unavailable', async () => {
    const { auth, primary } = twoProviders();
    primary.fail(pgError('42P01'));
    const result = await auth.authenticate({ identifier: 'ada@example.com', password: 'wrong' });
    expect(result).toEqual({ ok: false, reason: 'invalid_credentials' });
  });

  it('throws AuthUnavailableError with one failure per provider when none can answer', async () => {
    const { auth, primary, fallback, verifier, of } = twoProviders();
    primary.fail(pgError('42P01', 'relation "users" does not exist'));
    fallback.fail(pgError('28P01', 'password authentication failed for user "app"'));
    const error = await auth
      .authenticate({ identifier: 'ada@example.com', password: PASSWORD })
      .catch((e: unknown) => e);
    expect(isAuthUnavailableError(error)).toBe(true);
    if (!isAuthUnavailableError(error)) return;
    expect(error.code).toBe('AUTH_UNAVAILABLE');
    expect(error.failures.map((f) => [f.provider, f.code, f.attempts])).toEqual([
      ['primary', '42P01', 1],
      ['fallback', '28P01', 1],
    ]);
    expect(error.message).toContain(
      'primary: 42P01 relation "users" does not exist -> the table or a column is missing',
    );
    expect(error.message).toContain(
      'fallback: 28P01 password authentication failed for user "app" -> the database refused the app\'s credentials',
    );
    expect(verifier.calls).toHaveLength(0);
    expect(of('onUnavailable')).toHaveLength(1);
  });

  it('a verifier that cannot check is "cannot decide": AuthUnavailableError, never a grant or invalid_credentials', async () => {
    const { auth, verifier, of } = twoProviders();
    verifier.verify = async () => {
      throw new Error('worker pool queue is full');
    };
    const error = await auth
      .authenticate({ identifier: 'ada@example.com', password: PASSWORD })
      .catch((e: unknown) => e);
    expect(isAuthUnavailableError(error)).toBe(true);
    if (!isAuthUnavailableError(error)) return;
    expect(error.failures).toEqual([
      expect.objectContaining({ provider: 'password-verifier', code: 'VERIFIER_FAILED' }),
    ]);
    expect(of('onUnavailable')).toHaveLength(1);
  });
});

describe('answers that are not answers', () => {
  it('a lookup that resolves undefined could not decide: it fails over, and alone it is unavailable, never invalid_credentials', async () => {
    const forgetful = { name: 'forgetful', findAccount: async () => undefined as unknown as null };
    const { auth } = twoProviders({ providers: [forgetful] });
    const error = await auth
      .authenticate({ identifier: 'ada@example.com', password: PASSWORD })
      .catch((e: unknown) => e);
    expect(isAuthUnavailableError(error) && error.failures).toEqual([
      expect.objectContaining({
        provider: 'forgetful',
        code: 'INVALID_ANSWER',
        kind: 'configuration',
        message:
          'provider "forgetful" answered undefined: findAccount must resolve an account, or null for "no such account"',
      }),
    ]);

    const { auth: chained, fallback } = twoProviders();
    const withFallback = createResilientAuth({
      providers: [forgetful, fallback],
      verifier: recordingVerifier(),
    });
    await expect(
      withFallback.authenticate({ identifier: 'ada@example.com', password: PASSWORD }),
    ).resolves.toMatchObject({ ok: true, provider: 'fallback', degraded: true });
    await chained.close();
  });

  it('grants only on a verifier answer of exactly true', async () => {
    const { auth, verifier } = twoProviders();
    verifier.verify = async () => 'yes' as unknown as boolean;
    await expect(
      auth.authenticate({ identifier: 'ada@example.com', password: PASSWORD }),
    ).resolves.toEqual({ ok: false, reason: 'invalid_credentials' });
  });
});
