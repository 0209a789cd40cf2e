import { describe, expect, it } from 'vitest';
import {
  type Credentials,
  createResilientAuth,
  MAX_IDENTIFIER_LENGTH,
  memoryProvider,
} from '../../src/index.js';
import { fakeHash, recordingVerifier } from '../support/fakes.js';
import { PASSWORD, twoProviders } from '../support/fixtures.js';

describe('input limits (checked before any lookup)', () => {
  const refused: [string, unknown, 'identifier' | 'password' | 'context'][] = [
    ['empty identifier', { identifier: '', password: PASSWORD }, 'identifier'],
    [
      'identifier over 320 characters',
      { identifier: `${'a'.repeat(309)}@example.com`, password: PASSWORD },
      'identifier',
    ],
    [
      'identifier with a NUL',
      { identifier: 'ada@example.com\u0000', password: PASSWORD },
      'identifier',
    ],
    [
      'identifier with a newline',
      { identifier: 'ada@example.com\nadmin', password: PASSWORD },
      'identifier',
    ],
    [
      'identifier with DEL',
      { identifier: 'ada\u007f@example.com', password: PASSWORD },
      'identifier',
    ],
    ['identifier not a string', { identifier: 42, password: PASSWORD }, 'identifier'],
    ['missing credentials', undefined, 'identifier'],
    ['empty password', { identifier: 'ada@example.com', password: '' }, 'password'],
    [
      '73-byte ASCII password',
      { identifier: 'ada@example.com', password: 'a'.repeat(73) },
      'password',
    ],
    [
      '25 three-byte characters (75 bytes)',
      { identifier: 'ada@example.com', password: '€'.repeat(25) },
      'password',
    ],
    [
      '19 emoji (76 bytes, 38 UTF-16 units)',
      { identifier: 'ada@example.com', password: '🔑'.repeat(19) },
      'password',
    ],
    ['password not a string', { identifier: 'ada@example.com', password: null }, 'password'],
    [
      'oversized context',
      {
        identifier: 'ada@example.com',
        password: PASSWORD,
        context: { userAgent: 'x'.repeat(5000) },
      },
      'context',
    ],
  ];

  it.each(refused)('%s: invalid_input, no lookup, no verification', async (_, input, field) => {
    const { auth, primary, fallback, verifier, of } = twoProviders();
    const result = await auth.authenticate(input as Credentials);
    expect(result).toEqual({ ok: false, reason: 'invalid_input', field });
    expect(primary.lookups + fallback.lookups).toBe(0);
    expect(verifier.calls).toHaveLength(0);
    expect(of('onAttempt')).toEqual([
      expect.objectContaining({ outcome: 'rejected', cause: 'invalid_input' }),
    ]);
    expect(of('onAttempt')[0]).not.toHaveProperty('identifier');
  });

  it('keeps a valid context on refused input, so audit still has the IP', async () => {
    const { auth, of } = twoProviders();
    const context = { ip: '203.0.113.9', requestId: 'r-1' };
    await auth.authenticate({ identifier: 'ada@example.com', password: 'x'.repeat(100), context });
    await auth.authenticate({
      identifier: '',
      password: PASSWORD,
      context: { ip: 'x'.repeat(3000) },
    });
    expect(of('onAttempt')).toEqual([
      expect.objectContaining({ cause: 'invalid_input', context }),
      expect.objectContaining({ cause: 'invalid_input', context: {} }),
    ]);
  });

  it('accepts exactly 72 UTF-8 bytes and exactly 320 characters', async () => {
    const { auth, verifier } = twoProviders();
    const identifier = `${'a'.repeat(MAX_IDENTIFIER_LENGTH - 12)}@example.com`;
    expect(identifier).toHaveLength(320);
    for (const password of ['a'.repeat(72), '€'.repeat(24), '🔑'.repeat(18)]) {
      await expect(auth.authenticate({ identifier, password })).resolves.toEqual({
        ok: false,
        reason: 'invalid_credentials',
      });
    }
    expect(verifier.calls).toHaveLength(3);
  });

  it('verifies the password exactly as received: no trimming, no normalization', async () => {
    // The stored password is "café" typed precomposed (NFC).
    const verifier = recordingVerifier();
    const auth = createResilientAuth({
      providers: [
        memoryProvider({
          accounts: [
            { identifier: 'ada@example.com', passwordHash: fakeHash('caf\u00e9'), user: { id: 1 } },
          ],
        }),
      ],
      verifier,
    });
    const attempts = [' caf\u00e9', 'caf\u00e9 ', 'cafe\u0301', 'CAF\u00c9'];
    for (const password of attempts) {
      await expect(auth.authenticate({ identifier: 'ada@example.com', password })).resolves.toEqual(
        {
          ok: false,
          reason: 'invalid_credentials',
        },
      );
    }
    // What reached the verifier is what the caller typed, code unit for code unit.
    expect(verifier.calls.map((c) => c.password)).toEqual(attempts);
    await expect(
      auth.authenticate({ identifier: 'ada@example.com', password: 'caf\u00e9' }),
    ).resolves.toMatchObject({ ok: true });
  });
});
