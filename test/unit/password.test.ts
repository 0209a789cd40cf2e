import { describe, expect, it, vi } from 'vitest';
import {
  bcryptVerifier,
  createResilientAuth,
  hashPassword,
  isResilientAuthError,
  memoryProvider,
  type PasswordVerifier,
} from '../../src/index.js';
import { recordingLogger } from '../support/fakes.js';

const PASSWORD = 'correct horse battery staple';
const costOf = (hash: string) => Number(hash.slice(4, 6));

function spying(inner: PasswordVerifier) {
  const hashes: string[] = [];
  const verifier: PasswordVerifier = {
    maxPasswordBytes: inner.maxPasswordBytes,
    isWellFormed: (h) => inner.isWellFormed(h),
    dummyHash: (like) => inner.dummyHash(like),
    verify: (password, hash) => {
      hashes.push(hash);
      return inner.verify(password, hash);
    },
    close: () => inner.close?.() ?? Promise.resolve(),
  };
  return { verifier, hashes };
}

describe('bcryptVerifier (worker pool)', () => {
  it('verifies real bcrypt hashes in worker threads', async () => {
    const verifier = bcryptVerifier({ threads: 2 });
    const hash = await hashPassword(PASSWORD, 4);
    await expect(verifier.verify(PASSWORD, hash)).resolves.toBe(true);
    await expect(verifier.verify('wrong', hash)).resolves.toBe(false);
    await expect(verifier.verify(PASSWORD, hash.replace('$2b$', '$2y$'))).resolves.toBe(true);
    await verifier.close?.();
  });

  it('builds dummy hashes that are well-formed, match nothing and cost what the model hash costs', async () => {
    const verifier = bcryptVerifier({ threads: 0, defaultCost: 5 });
    const real = await hashPassword(PASSWORD, 6);
    expect(costOf(verifier.dummyHash(real))).toBe(6);
    expect(costOf(verifier.dummyHash(undefined))).toBe(5);
    expect(verifier.isWellFormed(verifier.dummyHash(real))).toBe(true);
    await expect(verifier.verify(PASSWORD, verifier.dummyHash(real))).resolves.toBe(false);
    expect(verifier.isWellFormed('')).toBe(false);
    expect(verifier.isWellFormed('$2b$10$short')).toBe(false);
    expect(verifier.isWellFormed('$argon2id$v=19$m=65536,t=3,p=4$abc$def')).toBe(false);
  });
});

describe('timing: an unknown identifier costs a verification at the cost of the real hashes', () => {
  it('uses the configured default cost before any real hash is seen, then the cost of the last one', async () => {
    const passwordHash = await hashPassword(PASSWORD, 6);
    const { verifier, hashes } = spying(bcryptVerifier({ threads: 0, defaultCost: 4 }));
    const auth = createResilientAuth({
      providers: [
        memoryProvider({ accounts: [{ identifier: 'ada@example.com', passwordHash, user: {} }] }),
      ],
      verifier,
    });
    await auth.authenticate({ identifier: 'ghost@example.com', password: PASSWORD });
    await auth.authenticate({ identifier: 'ada@example.com', password: 'wrong' });
    await auth.authenticate({ identifier: 'ghost@example.com', password: PASSWORD });
    expect(hashes.map(costOf)).toEqual([4, 6, 6]);
    expect(hashes[2]).not.toBe(passwordHash);
  });
});

describe('hashPassword', () => {
  it('refuses passwords over 72 UTF-8 bytes instead of truncating', async () => {
    const error = await hashPassword('€'.repeat(25)).catch((e: unknown) => e);
    expect(isResilientAuthError(error) && error.code).toBe('INVALID_INPUT');
    await expect(hashPassword('x'.repeat(72), 4)).resolves.toMatch(/^\$2b\$04\$/);
  });
});

describe('in-thread fallback', () => {
  it('verifies in-thread, and says so once, when worker threads cannot start', async () => {
    vi.resetModules();
    vi.doMock('piscina', () => ({
      Piscina: class {
        constructor() {
          throw new Error('worker threads unavailable');
        }
      },
    }));
    const { bcryptVerifier: isolatedVerifier } = await import(
      '../../src/password/bcrypt-verifier.js'
    );
    const logger = recordingLogger();
    const verifier = isolatedVerifier({ logger });
    const hash = await hashPassword(PASSWORD, 4);
    await expect(verifier.verify(PASSWORD, hash)).resolves.toBe(true);
    await expect(verifier.verify('wrong', hash)).resolves.toBe(false);
    expect(logger.lines).toEqual([
      expect.objectContaining({
        level: 'error',
        message: expect.stringMatching(/verifying in-thread/),
      }),
    ]);
    vi.doUnmock('piscina');
  });
});
