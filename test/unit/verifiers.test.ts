import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hash as argon2Hash, parseOptions as argon2Params } from '@node-rs/argon2';
import { hash as nativeHash } from '@node-rs/bcrypt';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createResilientAuth,
  isConfigError,
  memoryProvider,
  type PasswordVerifier,
  type VerifyOptions,
} from '../../src/index.js';
import {
  ARGON2_MAX_PASSWORD_BYTES,
  argon2Verifier,
  createArgon2Verifier,
} from '../../src/password/argon2-verifier.js';
import { hashPassword } from '../../src/password/hash-password.js';
import { multiFormatVerifier } from '../../src/password/multi-format-verifier.js';
import {
  createNativeBcryptVerifier,
  nativeBcryptVerifier,
} from '../../src/password/native-bcrypt-verifier.js';
import { libuvPoolSize } from '../../src/password/native-verifier-queue.js';
import { thrownBy } from '../support/fakes.js';
import { ADA, PASSWORD } from '../support/fixtures.js';

// Low costs keep the file fast: bcrypt 5 (4 is the weaker one), argon2 with 256 KiB.
const ARGON2_TEST = { memoryCostKiB: 256, timeCost: 2 } as const;
const bcryptCostOf = (hash: string) => Number(hash.slice(4, 6));
const argon2Cost = (hash: string) => {
  const { algorithm, version, memoryCost, timeCost, parallelism, outputLen } = argon2Params(hash);
  return { algorithm, version, memoryCost, timeCost, parallelism, outputLen };
};

/** `verifier.hash` with a wait bound, which the shipped verifiers take beyond the interface. */
function hashWithin(verifier: PasswordVerifier, password: string, maxWaitMs: number) {
  const hash = verifier.hash as (password: string, options: VerifyOptions) => Promise<string>;
  return hash.call(verifier, password, { maxWaitMs });
}

/** Each bad option set throws a ConfigError naming `option`. */
function expectConfigErrors(
  factory: (options: never) => unknown,
  cases: readonly (readonly [options: unknown, option: string])[],
): void {
  for (const [options, option] of cases) {
    expect(() => factory(options as never), option).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', option }),
    );
  }
}

const fixtures = mkdtempSync(join(tmpdir(), 'verifier-peers-'));
afterAll(() => rmSync(fixtures, { recursive: true, force: true }));

/** A stand-in for a peer package, as a file the loader can be pointed at. */
function peerFixture(name: string, source: string): string {
  const path = join(fixtures, `${name}.cjs`);
  writeFileSync(path, source);
  return path;
}

interface Format {
  readonly name: string;
  /** The verifier under test, with test costs. */
  make(options?: { threads?: number; maxQueue?: number }): PasswordVerifier;
  /** A real hash at a lower cost than the target's. */
  weaker(password: string): Promise<string>;
  /** What a verification of the hash costs. */
  cost(hash: string): unknown;
  readonly malformed: readonly string[];
}

const formats: readonly Format[] = [
  {
    name: 'nativeBcryptVerifier',
    make: (options) => nativeBcryptVerifier({ cost: 5, ...options }),
    weaker: (password) => nativeHash(password, 4),
    cost: bcryptCostOf,
    malformed: [
      '',
      '$2b$10$short',
      '$2x$05$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0',
      '$2b$32$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0',
      '$argon2id$v=19$m=256,t=2,p=1$WlpaWlpaWlpaWlpaWlpaWg$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    ],
  },
  {
    name: 'argon2Verifier',
    make: (options) => argon2Verifier({ ...ARGON2_TEST, ...options }),
    weaker: (password) => argon2Hash(password, { memoryCost: 128, timeCost: 2 }),
    cost: argon2Cost,
    malformed: [
      '',
      '$argon2id$v=19$m=256,t=2,p=1$short',
      '$argon2id$v=18$m=256,t=2,p=1$WlpaWlpaWlpaWlpaWlpaWg$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      // Would ask for 4 TiB: refused unread, never run.
      '$argon2id$v=19$m=4294967295,t=2,p=1$WlpaWlpaWlpaWlpaWlpaWg$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      '$argon2id$v=19$m=256,t=17,p=1$WlpaWlpaWlpaWlpaWlpaWg$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      '$2b$05$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0',
    ],
  },
];

describe.each(formats)('$name', (format) => {
  it('verifies its own hashes: the right password, not a wrong one', async () => {
    const verifier = format.make();
    const hash = await verifier.hash!(PASSWORD);
    expect(verifier.isWellFormed(hash)).toBe(true);
    await expect(verifier.verify(PASSWORD, hash)).resolves.toBe(true);
    await expect(verifier.verify('wrong', hash)).resolves.toBe(false);
    await expect(verifier.verify(PASSWORD.toUpperCase(), hash)).resolves.toBe(false);
    await verifier.close?.();
  });

  it('calls a malformed hash malformed, and refuses to run one', async () => {
    const verifier = format.make();
    for (const hash of format.malformed) {
      expect(verifier.isWellFormed(hash), hash).toBe(false);
      await expect(verifier.verify(PASSWORD, hash)).rejects.toMatchObject({
        code: 'VERIFIER_FAILED',
      });
    }
    await verifier.close?.();
  });

  it('builds dummy hashes that are well-formed, match nothing and cost what `like` costs', async () => {
    const verifier = format.make();
    const target = await verifier.hash!(PASSWORD);
    const weaker = await format.weaker(PASSWORD);
    for (const like of [target, weaker]) {
      const dummy = verifier.dummyHash(like);
      expect(verifier.isWellFormed(dummy)).toBe(true);
      expect(format.cost(dummy)).toEqual(format.cost(like));
      for (const password of [PASSWORD, 'wrong', '', 'x'.repeat(72)]) {
        await expect(verifier.verify(password, dummy)).resolves.toBe(false);
      }
    }
    // No real hash seen yet, or a malformed one: the target's cost.
    expect(format.cost(verifier.dummyHash(undefined))).toEqual(format.cost(target));
    expect(format.cost(verifier.dummyHash('not a hash'))).toEqual(format.cost(target));
    await verifier.close?.();
  });

  it('needs a rehash for a weaker hash only, and the new hash verifies and needs none', async () => {
    const verifier = format.make();
    const weaker = await format.weaker(PASSWORD);
    await expect(verifier.verify(PASSWORD, weaker)).resolves.toBe(true);
    expect(verifier.needsRehash!(weaker)).toBe(true);
    const rehashed = await verifier.hash!(PASSWORD);
    expect(rehashed).not.toBe(weaker);
    expect(verifier.needsRehash!(rehashed)).toBe(false);
    await expect(verifier.verify(PASSWORD, rehashed)).resolves.toBe(true);
    await verifier.close?.();
  });

  it('refuses at once with OVERLOADED when no thread is free within maxWaitMs', async () => {
    const verifier = format.make({ threads: 1 });
    const hash = await verifier.hash!(PASSWORD);
    let firstSettled = false;
    const first = verifier.verify(PASSWORD, hash).finally(() => {
      firstSettled = true;
    });
    await expect(verifier.verify(PASSWORD, hash, { maxWaitMs: 0 })).rejects.toMatchObject({
      code: 'OVERLOADED',
    });
    // Hashing (a rehash on login) takes the same bound.
    await expect(hashWithin(verifier, PASSWORD, 0)).rejects.toMatchObject({ code: 'OVERLOADED' });
    // Refused while the first one still ran: only microtasks ran in between.
    expect(firstSettled).toBe(false);
    // A wait long enough is honoured: it runs once the thread is free.
    await expect(verifier.verify(PASSWORD, hash, { maxWaitMs: 10_000 })).resolves.toBe(true);
    await expect(first).resolves.toBe(true);
    await verifier.close?.();
  });

  it('refuses with OVERLOADED when maxQueue verifications already wait', async () => {
    const verifier = format.make({ threads: 1, maxQueue: 0 });
    const hash = await verifier.hash!(PASSWORD);
    const first = verifier.verify(PASSWORD, hash);
    await expect(verifier.verify(PASSWORD, hash)).rejects.toMatchObject({ code: 'OVERLOADED' });
    await expect(first).resolves.toBe(true);
    await verifier.close?.();
  });

  it('close() refuses waiting and later verifications with CLOSED, and lets a running one finish', async () => {
    const verifier = format.make({ threads: 1 });
    const hash = await verifier.hash!(PASSWORD);
    const running = verifier.verify(PASSWORD, hash);
    const waiting = verifier.verify(PASSWORD, hash, { maxWaitMs: 10_000 });
    await verifier.close!();
    await expect(waiting).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(running).resolves.toBe(true);
    await expect(verifier.verify(PASSWORD, hash)).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('refuses threads above the libuv pool size, saying how to grow it', () => {
    expect(() => format.make({ threads: libuvPoolSize() + 1 })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        option: `${format.name}.threads`,
        message: expect.stringMatching(/UV_THREADPOOL_SIZE/),
      }),
    );
  });
});

describe('nativeBcryptVerifier', () => {
  it('checks the hashes bcryptjs made, $2a$ and $2y$ included, and rehashes those markers to $2b$', async () => {
    const verifier = nativeBcryptVerifier({ cost: 5 });
    const bcryptjsHash = await hashPassword(PASSWORD, 5);
    await expect(verifier.verify(PASSWORD, bcryptjsHash)).resolves.toBe(true);
    expect(verifier.needsRehash!(bcryptjsHash)).toBe(false);
    for (const marker of ['$2a$', '$2y$']) {
      const older = bcryptjsHash.replace('$2b$', marker);
      await expect(verifier.verify(PASSWORD, older)).resolves.toBe(true);
      expect(verifier.needsRehash!(older)).toBe(true);
    }
    await expect(verifier.hash!(PASSWORD)).resolves.toMatch(/^\$2b\$05\$/);
    // A higher cost than the target is not weaker.
    expect(verifier.needsRehash!(await hashPassword(PASSWORD, 6))).toBe(false);
    await verifier.close?.();
  });

  it('never truncates: a password over 72 bytes matches nothing and is not hashed', async () => {
    const verifier = nativeBcryptVerifier({ cost: 4 });
    expect(verifier.maxPasswordBytes).toBe(72);
    const first72 = 'x'.repeat(72);
    const hash = await verifier.hash!(first72);
    await expect(verifier.verify(first72, hash)).resolves.toBe(true);
    await expect(verifier.verify(`${first72}y`, hash)).resolves.toBe(false);
    for (const refused of [`${first72}y`, '']) {
      await expect(verifier.hash!(refused)).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        message: 'hashes non-empty passwords of at most 72 UTF-8 bytes',
      });
    }
    await verifier.close?.();
  });

  it('uses cost 10 by default', async () => {
    const verifier = nativeBcryptVerifier();
    expect(bcryptCostOf(verifier.dummyHash(undefined))).toBe(10);
    expect(verifier.needsRehash!(await nativeHash(PASSWORD, 9))).toBe(true);
    await verifier.close?.();
  });

  it('refuses bad options, naming them', () => {
    expectConfigErrors(nativeBcryptVerifier, [
      [{ cost: 3 }, 'nativeBcryptVerifier.cost'],
      [{ cost: 10.5 }, 'nativeBcryptVerifier.cost'],
      [{ threads: 0 }, 'nativeBcryptVerifier.threads'],
      [{ maxQueue: -1 }, 'nativeBcryptVerifier.maxQueue'],
      [{ rounds: 10 }, 'nativeBcryptVerifier'],
    ]);
  });
});

describe('argon2Verifier', () => {
  it("makes argon2id v1.3 hashes with OWASP's parameters by default", () => {
    const verifier = argon2Verifier();
    expect(argon2Cost(verifier.dummyHash(undefined))).toEqual({
      algorithm: 2,
      version: 1,
      memoryCost: 19_456,
      timeCost: 2,
      parallelism: 1,
      outputLen: 32,
    });
    expect(verifier.maxPasswordBytes).toBe(ARGON2_MAX_PASSWORD_BYTES);
  });

  it('needs a rehash for another variant or version, less memory or fewer passes, not for more', async () => {
    const verifier = argon2Verifier(ARGON2_TEST);
    const made = (options: Parameters<typeof argon2Hash>[1]) =>
      argon2Hash(PASSWORD, { memoryCost: 256, timeCost: 2, ...options });
    expect(verifier.needsRehash!(await made({}))).toBe(false);
    expect(verifier.needsRehash!(await made({ memoryCost: 512, timeCost: 3 }))).toBe(false);
    expect(verifier.needsRehash!(await made({ parallelism: 2 }))).toBe(false);
    expect(verifier.needsRehash!(await made({ timeCost: 1 }))).toBe(true);
    expect(verifier.needsRehash!(await made({ memoryCost: 255 }))).toBe(true);
    expect(verifier.needsRehash!(await made({ algorithm: 1 }))).toBe(true);
    expect(verifier.needsRehash!(await made({ version: 0 }))).toBe(true);
    expect(verifier.needsRehash!(await made({ outputLen: 16 }))).toBe(true);
  });

  it('verifies argon2i, argon2d and v1.0 hashes, and builds their dummies alike', async () => {
    const verifier = argon2Verifier(ARGON2_TEST);
    for (const options of [{ algorithm: 1 }, { algorithm: 0 }, { version: 0 }] as const) {
      const hash = await argon2Hash(PASSWORD, { memoryCost: 64, timeCost: 3, ...options });
      await expect(verifier.verify(PASSWORD, hash)).resolves.toBe(true);
      const dummy = verifier.dummyHash(hash);
      expect(argon2Cost(dummy)).toEqual(argon2Cost(hash));
      await expect(verifier.verify(PASSWORD, dummy)).resolves.toBe(false);
    }
    await verifier.close?.();
  });

  it('takes stored hashes up to maxMemoryCostKiB and maxTimeCost only', async () => {
    const verifier = argon2Verifier({ ...ARGON2_TEST, maxMemoryCostKiB: 512, maxTimeCost: 3 });
    const fits = await argon2Hash(PASSWORD, { memoryCost: 512, timeCost: 3 });
    expect(verifier.isWellFormed(fits)).toBe(true);
    expect(verifier.isWellFormed(await argon2Hash(PASSWORD, { memoryCost: 520 }))).toBe(false);
    expect(
      verifier.isWellFormed(await argon2Hash(PASSWORD, { memoryCost: 256, timeCost: 4 })),
    ).toBe(false);
  });

  it('hashes passwords up to 4096 bytes whole, and refuses longer ones', async () => {
    const verifier = argon2Verifier(ARGON2_TEST);
    const long = 'x'.repeat(ARGON2_MAX_PASSWORD_BYTES);
    const hash = await verifier.hash!(long);
    await expect(verifier.verify(long, hash)).resolves.toBe(true);
    await expect(verifier.verify(long.slice(0, 72), hash)).resolves.toBe(false);
    await expect(verifier.hash!(`${long}y`)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await verifier.close?.();
  });

  it('refuses bad options, naming them', () => {
    expectConfigErrors(argon2Verifier, [
      [{ memoryCostKiB: 4 }, 'argon2Verifier.memoryCostKiB'],
      [{ memoryCostKiB: 64, parallelism: 9 }, 'argon2Verifier.memoryCostKiB'],
      [{ timeCost: 0 }, 'argon2Verifier.timeCost'],
      [{ parallelism: 256 }, 'argon2Verifier.parallelism'],
      [{ maxMemoryCostKiB: 1024, memoryCostKiB: 2048 }, 'argon2Verifier.maxMemoryCostKiB'],
      [{ maxTimeCost: 1 }, 'argon2Verifier.maxTimeCost'],
      [{ memoryCost: 19456 }, 'argon2Verifier'],
    ]);
  });
});

describe('optional peer dependencies', () => {
  it('say which package to install when it is missing', () => {
    for (const [create, factory] of [
      [createNativeBcryptVerifier, 'nativeBcryptVerifier'],
      [createArgon2Verifier, 'argon2Verifier'],
    ] as const) {
      const thrown = thrownBy(() => create({}, '@node-rs/not-installed-here'));
      expect(isConfigError(thrown) && thrown.message).toBe(
        `${factory}: needs the '@node-rs/not-installed-here' package, an optional peer dependency of resilient-auth: npm install @node-rs/not-installed-here`,
      );
    }
  });

  it('say when one is installed but cannot load, with its reason', () => {
    const broken = peerFixture(
      'broken',
      "throw new Error('no prebuilt binary for postgres://app:hunter2@db');",
    );
    expect(() => createArgon2Verifier({}, broken)).toThrow(
      expect.objectContaining({
        option: 'argon2Verifier',
        message: expect.stringMatching(
          /installed but could not be loaded \(no prebuilt binary for postgres:\/\/app:\*\*\*@db\): reinstall it/,
        ),
      }),
    );
  });
});

describe('a library error on a well-formed hash', () => {
  it('rejects VERIFIER_FAILED, with the library message redacted and no password or hash in it', async () => {
    const realArgon2 = createRequire(import.meta.url).resolve('@node-rs/argon2');
    const failing = `async () => { throw new Error('native failure at postgres://u:hunter2@db'); }`;
    const bcryptPeer = peerFixture('failing-bcrypt', `exports.verify = ${failing};`);
    const argon2Peer = peerFixture(
      'failing-argon2',
      `exports.parseOptions = require(${JSON.stringify(realArgon2)}).parseOptions;
       exports.verify = ${failing};`,
    );
    const bcryptHash = await nativeHash(PASSWORD, 4);
    const argon2 = await argon2Hash(PASSWORD, { memoryCost: 64, timeCost: 1 });
    for (const [verifier, hash, name] of [
      [createNativeBcryptVerifier({}, bcryptPeer), bcryptHash, 'native bcrypt'],
      [createArgon2Verifier({}, argon2Peer), argon2, 'argon2'],
    ] as const) {
      await expect(verifier.verify(PASSWORD, hash)).rejects.toMatchObject({
        code: 'VERIFIER_FAILED',
        message: `${name} could not check the hash: native failure at postgres://u:***@db`,
      });
      await verifier.close?.();
    }
  });
});

describe('multiFormatVerifier', () => {
  const migrating = () => {
    const argon2 = argon2Verifier(ARGON2_TEST);
    const bcrypt = nativeBcryptVerifier({ cost: 4, threads: 1 });
    return { argon2, bcrypt, verifier: multiFormatVerifier({ target: argon2, accept: [bcrypt] }) };
  };

  it('verifies each format with its own verifier', async () => {
    const { argon2, verifier } = migrating();
    const bcryptHash = await hashPassword(PASSWORD, 4);
    const argon2Hashed = await argon2.hash!(PASSWORD);
    for (const hash of [bcryptHash, argon2Hashed]) {
      expect(verifier.isWellFormed(hash)).toBe(true);
      await expect(verifier.verify(PASSWORD, hash)).resolves.toBe(true);
      await expect(verifier.verify('wrong', hash)).resolves.toBe(false);
    }
    expect(verifier.isWellFormed('$1$md5$crypt')).toBe(false);
    await expect(verifier.verify(PASSWORD, '$1$md5$crypt')).rejects.toMatchObject({
      code: 'VERIFIER_FAILED',
    });
    await verifier.close?.();
  });

  it('migrates: a bcrypt hash needs a rehash, to an argon2 hash that verifies and needs none', async () => {
    const { verifier } = migrating();
    const bcryptHash = await hashPassword(PASSWORD, 4);
    expect(verifier.needsRehash!(bcryptHash)).toBe(true);
    const rehashed = await verifier.hash!(PASSWORD);
    expect(rehashed).toMatch(/^\$argon2id\$v=19\$m=256,t=2,p=1\$/);
    expect(verifier.needsRehash!(rehashed)).toBe(false);
    await expect(verifier.verify(PASSWORD, rehashed)).resolves.toBe(true);
    // A weaker hash of the target's own format: the target says so.
    const weakArgon2 = await argon2Hash(PASSWORD, { memoryCost: 128, timeCost: 2 });
    expect(verifier.needsRehash!(weakArgon2)).toBe(true);
    await verifier.close?.();
  });

  it('builds the dummy of the format that owns `like`, at its cost; the target’s otherwise', async () => {
    const { argon2, verifier } = migrating();
    const bcryptHash = await nativeHash(PASSWORD, 6);
    expect(bcryptCostOf(verifier.dummyHash(bcryptHash))).toBe(6);
    const argon2Hashed = await argon2Hash(PASSWORD, { memoryCost: 512, timeCost: 3 });
    expect(argon2Cost(verifier.dummyHash(argon2Hashed))).toEqual(argon2Cost(argon2Hashed));
    expect(verifier.dummyHash(undefined)).toBe(argon2.dummyHash(undefined));
    expect(verifier.dummyHash('garbage')).toBe(argon2.dummyHash(undefined));
    for (const like of [bcryptHash, argon2Hashed, undefined]) {
      await expect(verifier.verify(PASSWORD, verifier.dummyHash(like))).resolves.toBe(false);
    }
    await verifier.close?.();
  });

  it('takes the smallest password limit of its formats', async () => {
    const { verifier } = migrating();
    expect(verifier.maxPasswordBytes).toBe(72);
    const argon2Only = multiFormatVerifier({
      target: argon2Verifier(ARGON2_TEST),
      accept: [argon2Verifier({ memoryCostKiB: 64, timeCost: 1 })],
    });
    expect(argon2Only.maxPasswordBytes).toBe(ARGON2_MAX_PASSWORD_BYTES);
    const unlimited = {
      verify: async () => false,
      isWellFormed: () => false,
      dummyHash: () => 'x',
    };
    expect(
      multiFormatVerifier({ target: unlimited, accept: [unlimited] }).maxPasswordBytes,
    ).toBeUndefined();
    await Promise.all([verifier.close?.(), argon2Only.close?.()]);
  });

  it('passes maxWaitMs on to the verifier that checks, and to the target when hashing', async () => {
    const waits: unknown[] = [];
    const recording = {
      verify: async (_password: string, _hash: string, options?: VerifyOptions) => {
        waits.push(['verify', options?.maxWaitMs]);
        return false;
      },
      isWellFormed: (hash: string) => hash.startsWith('rec$'),
      dummyHash: () => 'rec$dummy',
      needsRehash: () => false,
      hash: async (password: string, options?: VerifyOptions) => {
        waits.push(['hash', options?.maxWaitMs]);
        return `rec$${password}`;
      },
    };
    const verifier = multiFormatVerifier({
      target: recording,
      accept: [argon2Verifier(ARGON2_TEST)],
    });
    await verifier.verify(PASSWORD, 'rec$x', { maxWaitMs: 1234 });
    await expect(hashWithin(verifier, PASSWORD, 567)).resolves.toBe(`rec$${PASSWORD}`);
    expect(waits).toEqual([
      ['verify', 1234],
      ['hash', 567],
    ]);
    await verifier.close?.();
  });

  it('never rehashes when the target cannot hash', () => {
    const plain: PasswordVerifier = {
      verify: async () => false,
      isWellFormed: () => true,
      dummyHash: () => 'x',
    };
    const verifier = multiFormatVerifier({ target: plain, accept: [argon2Verifier(ARGON2_TEST)] });
    expect(verifier.needsRehash).toBeUndefined();
    expect(verifier.hash).toBeUndefined();
  });

  it('closes every format', async () => {
    const { argon2, bcrypt, verifier } = migrating();
    await verifier.close!();
    for (const [inner, hash] of [
      [argon2, argon2.dummyHash(undefined)],
      [bcrypt, bcrypt.dummyHash(undefined)],
    ] as const) {
      await expect(inner.verify(PASSWORD, hash)).rejects.toMatchObject({ code: 'CLOSED' });
    }
  });

  it('refuses bad options, naming them', () => {
    const argon2 = argon2Verifier(ARGON2_TEST);
    expectConfigErrors(multiFormatVerifier, [
      [{ target: argon2, accept: [] }, 'multiFormatVerifier.accept'],
      [{ target: {}, accept: [argon2] }, 'multiFormatVerifier.target'],
      [{ target: argon2, accept: [argon2, 'bcrypt'] }, 'multiFormatVerifier.accept.1'],
      [{ target: argon2 }, 'multiFormatVerifier.accept'],
    ]);
  });

  it('moves a user base from bcrypt to argon2 one login at a time, through createResilientAuth', async () => {
    const { verifier } = migrating();
    const rehashes: string[] = [];
    const login = async (passwordHash: string) => {
      const auth = createResilientAuth({
        providers: [
          memoryProvider({
            accounts: [{ identifier: 'ada@example.com', passwordHash, user: ADA }],
          }),
        ],
        verifier,
        hooks: { onRehash: ({ hash }) => void rehashes.push(hash) },
      });
      return auth.authenticate({ identifier: 'ada@example.com', password: PASSWORD });
    };
    const first = await login(await hashPassword(PASSWORD, 4));
    expect(first).toMatchObject({ ok: true, rehash: expect.stringMatching(/^\$argon2id\$/) });
    const stored = (first as { rehash: string }).rehash;
    expect(rehashes).toEqual([stored]);
    const second = await login(stored);
    expect(second).toMatchObject({ ok: true });
    expect(second).not.toHaveProperty('rehash');
    await verifier.close?.();
  });
});
