import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/password/hash-password.js';

const PASSWORD = 'correct horse battery staple';
// The same words as NFC (precomposed é) and NFD (e + combining acute): NFKC makes both NFC.
const CAFE_NFC = 'caf\u00e9 au lait';
const CAFE_NFD = 'cafe\u0301 au lait';
// Full-width letters and a ligature: not in NFKC; its NFKC form is "pass fine".
const TYPED = 'ｐａｓｓ ﬁne';

describe('hashPassword', () => {
  it('takes the cost as a number, as before, or as an option', async () => {
    const positional = await hashPassword(PASSWORD, 4);
    const option = await hashPassword(PASSWORD, { cost: 5 });
    expect(positional).toMatch(/^\$2b\$04\$/);
    expect(option).toMatch(/^\$2b\$05\$/);
    await expect(bcrypt.compare(PASSWORD, positional)).resolves.toBe(true);
    await expect(bcrypt.compare(PASSWORD, option)).resolves.toBe(true);
  });

  it('uses cost 10 by default', async () => {
    await expect(hashPassword(PASSWORD)).resolves.toMatch(/^\$2b\$10\$/);
  });

  it('hashes exactly what it is given without normalize: an NFD password does not match its NFC form', async () => {
    const hash = await hashPassword(CAFE_NFD, 4);
    await expect(bcrypt.compare(CAFE_NFD, hash)).resolves.toBe(true);
    await expect(bcrypt.compare(CAFE_NFC, hash)).resolves.toBe(false);
  });

  it("with normalize: 'NFKC', hashes the NFKC form, as the orchestrator verifies it", async () => {
    const nfd = await hashPassword(CAFE_NFD, { cost: 4, normalize: 'NFKC' });
    await expect(bcrypt.compare(CAFE_NFC, nfd)).resolves.toBe(true);
    await expect(bcrypt.compare(CAFE_NFD.normalize('NFKC'), nfd)).resolves.toBe(true);
    const typed = await hashPassword(TYPED, { cost: 4, normalize: 'NFKC' });
    await expect(bcrypt.compare('pass fine', typed)).resolves.toBe(true);
    await expect(bcrypt.compare(TYPED, typed)).resolves.toBe(false);
  });

  it('refuses a password over 72 UTF-8 bytes, counted once normalized, instead of truncating', async () => {
    // U+FDFA is 3 UTF-8 bytes but expands to 18 characters (33 bytes) under NFKC.
    const long = '\uFDFA'.repeat(3);
    await expect(hashPassword(long, 4)).resolves.toMatch(/^\$2b\$04\$/);
    await expect(hashPassword(long, { cost: 4, normalize: 'NFKC' })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: 'hashPassword: password is longer than 72 UTF-8 bytes once normalized to NFKC',
    });
    await expect(hashPassword('€'.repeat(25), 4)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: 'hashPassword: password is longer than 72 UTF-8 bytes',
    });
    await expect(hashPassword('x'.repeat(72), 4)).resolves.toMatch(/^\$2b\$04\$/);
  });

  it('refuses an empty password, without echoing anything it was given', async () => {
    await expect(hashPassword('', 4)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: 'hashPassword: password must be a non-empty string',
    });
  });

  it('refuses bad options with a ConfigError naming them', async () => {
    for (const [options, option] of [
      [3, 'hashPassword.cost'],
      [10.5, 'hashPassword.cost'],
      [{ cost: 32 }, 'hashPassword.cost'],
      [{ normalize: 'NFC' }, 'hashPassword.normalize'],
      [{ rounds: 10 }, 'hashPassword'],
      ['10', 'hashPassword'],
    ] as const) {
      await expect(hashPassword(PASSWORD, options as never), String(option)).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        option,
        message: expect.not.stringContaining(PASSWORD),
      });
    }
  });
});
