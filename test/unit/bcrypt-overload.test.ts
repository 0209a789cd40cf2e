import { createRequire } from 'node:module';
import bcrypt from 'bcryptjs';
import { Piscina } from 'piscina';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  bcryptVerifier,
  hashPassword,
  isConfigError,
  isResilientAuthError,
  type PasswordVerifier,
} from '../../src/index.js';
import { recordingLogger } from '../support/fakes.js';

const PASSWORD = 'correct horse battery staple';
const costOf = (hash: string) => Number(hash.slice(4, 6));
const codeOf = (error: unknown) => (isResilientAuthError(error) ? error.code : undefined);

let hash4: string;
let hash5: string;
beforeAll(async () => {
  [hash4, hash5] = await Promise.all([hashPassword(PASSWORD, 4), hashPassword(PASSWORD, 5)]);
});

/** The rehash members, which bcryptVerifier always has. */
function rehashing(verifier: PasswordVerifier) {
  const { needsRehash, hash } = verifier;
  if (!needsRehash || !hash) throw new Error('expected needsRehash and hash');
  return { needsRehash, hash: (password: string) => hash.call(verifier, password) };
}

describe('bcryptVerifier: shed, do not queue', () => {
  it('refuses at once with OVERLOADED a verification that may not wait while every thread is busy', async () => {
    const verifier = bcryptVerifier({ threads: 1, logger: recordingLogger() });
    const busy = verifier.verify(PASSWORD, hash4);
    await expect(verifier.verify(PASSWORD, hash4, { maxWaitMs: 0 })).rejects.toMatchObject({
      code: 'OVERLOADED',
      message: expect.stringMatching(/raise threads, scale out, or throttle logins$/),
    });
    await expect(busy).resolves.toBe(true);
    // A free thread takes it, whatever its bound.
    await expect(verifier.verify(PASSWORD, hash4, { maxWaitMs: 0 })).resolves.toBe(true);
    await verifier.close?.();
  });

  it('lets a verification wait within its bound, and never puts more on the pool than it has threads', async () => {
    const run = Piscina.prototype.run;
    let onPool = 0;
    let mostOnPool = 0;
    vi.spyOn(Piscina.prototype, 'run').mockImplementation(async function (
      this: Piscina,
      ...args: Parameters<Piscina['run']>
    ) {
      mostOnPool = Math.max(mostOnPool, ++onPool);
      try {
        return await run.apply(this, args);
      } finally {
        onPool--;
      }
    });
    const verifier = bcryptVerifier({ threads: 2, logger: recordingLogger() });
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        verifier.verify(i % 2 ? 'wrong' : PASSWORD, hash4, { maxWaitMs: 60_000 }),
      ),
    );
    expect(outcomes).toEqual([true, false, true, false, true, false, true, false]);
    expect(mostOnPool).toBe(2);
    await verifier.close?.();
  });

  it('in-thread (threads: 0) checks one at a time and sheds the same way', async () => {
    const compare = vi.spyOn(bcrypt, 'compare');
    let running = 0;
    let mostAtOnce = 0;
    compare.mockImplementation(async (password: string, hash: string) => {
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      return bcrypt.compareSync(password, hash);
    });
    const verifier = bcryptVerifier({ threads: 0, maxQueue: 2 });
    const outcomes = await Promise.allSettled([
      verifier.verify(PASSWORD, hash4),
      verifier.verify('wrong', hash4),
      verifier.verify(PASSWORD, hash4),
      verifier.verify(PASSWORD, hash4),
    ]);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : codeOf(o.reason)))).toEqual([
      true,
      false,
      true,
      'OVERLOADED',
    ]);
    expect(mostAtOnce).toBe(1);
    const busy = verifier.verify(PASSWORD, hash4);
    await expect(verifier.verify(PASSWORD, hash4, { maxWaitMs: 0 })).rejects.toSatisfy(
      (e) => codeOf(e) === 'OVERLOADED',
    );
    await busy;
  });

  it('close() rejects the waiting verifications and every later one with CLOSED', async () => {
    const verifier = bcryptVerifier({ threads: 1, logger: recordingLogger() });
    const first = verifier.verify(PASSWORD, hash5);
    const waiting = [
      verifier.verify(PASSWORD, hash5, { maxWaitMs: 60_000 }),
      verifier.verify(PASSWORD, hash5),
    ];
    const closed = verifier.close?.();
    for (const outcome of await Promise.allSettled([first, ...waiting])) {
      expect(outcome.status === 'rejected' && codeOf(outcome.reason)).toBe('CLOSED');
    }
    await closed;
    await expect(verifier.verify(PASSWORD, hash5)).rejects.toSatisfy((e) => codeOf(e) === 'CLOSED');
    await expect(rehashing(verifier).hash(PASSWORD)).rejects.toSatisfy(
      (e) => codeOf(e) === 'CLOSED',
    );
  });
});

describe('bcryptVerifier: rehash', () => {
  it('needs a rehash for a hash of lower cost than its target, not for one at or above it', () => {
    const { needsRehash } = rehashing(bcryptVerifier({ threads: 0, cost: 5 }));
    expect(needsRehash(hash4)).toBe(true);
    expect(needsRehash(hash5)).toBe(false);
    expect(needsRehash(hash5.replace('$2b$05$', '$2b$06$'))).toBe(false);
    expect(needsRehash(hash4.replace('$2b$', '$2a$'))).toBe(true);
    expect(needsRehash('$argon2id$v=19$m=65536,t=3,p=4$abc$def')).toBe(true);
  });

  it('hashes at its target cost in the worker pool, and the new hash verifies', async () => {
    const hashSync = vi.spyOn(bcrypt, 'hashSync');
    const hashAsync = vi.spyOn(bcrypt, 'hash');
    const verifier = bcryptVerifier({ threads: 1, cost: 5, logger: recordingLogger() });
    const { hash, needsRehash } = rehashing(verifier);
    const fresh = await hash(PASSWORD);
    expect(costOf(fresh)).toBe(5);
    expect(needsRehash(fresh)).toBe(false);
    expect(fresh).not.toBe(await hash(PASSWORD));
    await expect(verifier.verify(PASSWORD, fresh)).resolves.toBe(true);
    await expect(verifier.verify('wrong', fresh)).resolves.toBe(false);
    // Not on this thread.
    expect(hashSync).not.toHaveBeenCalled();
    expect(hashAsync).not.toHaveBeenCalled();
    await verifier.close?.();
  });

  it('hashes in-thread with threads: 0, and refuses what bcrypt would truncate', async () => {
    const verifier = bcryptVerifier({ threads: 0, cost: 4 });
    const { hash } = rehashing(verifier);
    const fresh = await hash(PASSWORD);
    expect(costOf(fresh)).toBe(4);
    await expect(verifier.verify(PASSWORD, fresh)).resolves.toBe(true);
    for (const bad of ['', '€'.repeat(25)]) {
      await expect(hash(bad)).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        message: expect.stringContaining('at most 72 UTF-8 bytes'),
      });
    }
  });

  it('makes dummy hashes at its target cost until a real hash is seen, unless defaultCost says otherwise', () => {
    expect(costOf(bcryptVerifier({ threads: 0, cost: 6 }).dummyHash(undefined))).toBe(6);
    expect(costOf(bcryptVerifier({ threads: 0 }).dummyHash(undefined))).toBe(10);
    const both = bcryptVerifier({ threads: 0, cost: 6, defaultCost: 5 });
    expect(costOf(both.dummyHash(undefined))).toBe(5);
    expect(costOf(both.dummyHash(hash4))).toBe(4);
  });
});

describe('bcryptVerifier: options', () => {
  it('refuses bad options with a ConfigError naming the option', () => {
    const cases = [
      [{ threads: -1 }, 'verifier.threads'],
      [{ threads: 1.5 }, 'verifier.threads'],
      [{ maxQueue: -1 }, 'verifier.maxQueue'],
      [{ cost: 3 }, 'verifier.cost'],
      [{ cost: 32 }, 'verifier.cost'],
      [{ defaultCost: 3 }, 'verifier.defaultCost'],
      [{ logger: { warn: () => undefined } }, 'verifier.logger'],
      [{ cots: 12 }, 'verifier'],
    ] as const;
    for (const [options, option] of cases) {
      const error = (() => {
        try {
          return bcryptVerifier(options as never);
        } catch (e) {
          return e;
        }
      })();
      expect(isConfigError(error) && error.option).toBe(option);
    }
    expect(() => bcryptVerifier({ threads: 0, maxQueue: Number.POSITIVE_INFINITY })).not.toThrow();
  });
});

describe('the bcrypt worker', () => {
  const worker = createRequire(import.meta.url)('../../src/password/bcrypt-worker.cjs') as (
    task: object,
  ) => unknown;

  it('answers every task with a value, never a throw', () => {
    expect(worker({ password: PASSWORD, hash: hash4 })).toBe(true);
    expect(worker({ password: 'wrong', hash: hash4 })).toBe(false);
    const made = worker({ password: PASSWORD, cost: 4 }) as { hash: string };
    expect(bcrypt.compareSync(PASSWORD, made.hash)).toBe(true);
    expect(worker({ password: PASSWORD, hash: hash4.replace('$2b$', '$2x$') })).toEqual({
      error: expect.any(String),
    });
    expect(worker({ password: PASSWORD, cost: 99 })).toEqual({
      error: 'cost must be an integer from 4 to 31, not 99',
    });
  });
});

describe('an answer of the wrong shape from the pool', () => {
  it('fails that one verification or hash with VERIFIER_FAILED, never resolves with it', async () => {
    vi.resetModules();
    vi.doMock('piscina', () => ({
      Piscina: class {
        on() {
          return this;
        }
        async run(task: { cost?: number }) {
          return task.cost === undefined ? 'yes' : { hash: '$2b$04$tooShort' };
        }
        async destroy() {}
      },
    }));
    const { bcryptVerifier: isolated } = await import('../../src/password/bcrypt-verifier.js');
    const verifier = isolated({ threads: 1, cost: 4, logger: recordingLogger() });
    await expect(verifier.verify(PASSWORD, hash4)).rejects.toMatchObject({
      code: 'VERIFIER_FAILED',
      message: 'bcrypt could not check the hash: unexpected answer from the worker',
    });
    await expect(rehashing(verifier).hash(PASSWORD)).rejects.toMatchObject({
      code: 'VERIFIER_FAILED',
      message: 'bcrypt could not hash the password: unexpected answer from the worker',
    });
    await verifier.close?.();
    vi.doUnmock('piscina');
  });
});
