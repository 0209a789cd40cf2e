import { z } from 'zod';
import { parseFactoryOptions } from '../errors/factory-options.js';
import {
  assertHashable,
  malformedHash,
  type NativeThreadOptions,
  nativeThreadOptions,
  nativeVerifierQueue,
} from './native-verifier-queue.js';
import { loadOptionalPeer } from './optional-peer.js';
import type { PasswordVerifier, VerifyOptions } from './verifier.js';

/** Options of {@link argon2Verifier}. */
export interface Argon2VerifierOptions extends NativeThreadOptions {
  /**
   * Memory of new hashes, in KiB (argon2's `m`). A matched hash with less
   * needs a rehash. Default: `19456` (19 MiB), OWASP's first argon2id option.
   */
  readonly memoryCostKiB?: number;
  /** Passes over the memory of new hashes (argon2's `t`). A matched hash with fewer needs a rehash. Default: `2`. */
  readonly timeCost?: number;
  /** Lanes of new hashes (argon2's `p`). Default: `1`. */
  readonly parallelism?: number;
  /**
   * The most memory a stored hash may ask for, in KiB: one that asks for more
   * is malformed (denied and alerted, never run), so a corrupt or planted
   * `m=4294967295` cannot exhaust the process's memory.
   * Default: `262144` (256 MiB), or `memoryCostKiB` when higher.
   */
  readonly maxMemoryCostKiB?: number;
  /** The most passes a stored hash may ask for; more is malformed. Default: `16`, or `timeCost` when higher. */
  readonly maxTimeCost?: number;
}

/** `@node-rs/argon2`'s `Algorithm` and `Version` values (const enums there). */
const ARGON2ID = 2;
const VERSION_0x13 = 1;
const VARIANT_NAMES = ['argon2d', 'argon2i', 'argon2id'] as const;
const VERSION_NUMBERS = [16, 19] as const;

/** The parameters `@node-rs/argon2` makes a hash with. */
interface Argon2HashOptions {
  readonly algorithm: number;
  readonly version: number;
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
  readonly outputLen: number;
}

/** Parameters of an argon2 hash, as `@node-rs/argon2`'s `parseOptions` reads them. */
interface Argon2Params extends Argon2HashOptions {
  readonly saltLen: number;
}

/** Just the parts of `@node-rs/argon2` 2 that {@link argon2Verifier} uses. */
interface NodeRsArgon2 {
  hash(password: string, options: Argon2HashOptions): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  parseOptions(hash: string): Argon2Params;
}

/**
 * Longest password {@link argon2Verifier} takes, in UTF-8 bytes. argon2 reads
 * every byte (it pre-hashes the password, so length costs next to nothing and
 * nothing is truncated): the bound only stops oversized input. 4096 is
 * Django's, set after a long-password denial of service (CVE-2013-1443), and
 * far above any passphrase or password-manager output.
 */
export const ARGON2_MAX_PASSWORD_BYTES = 4096;

/** OWASP's first argon2id configuration: the defaults. */
const OWASP = { memoryCostKiB: 19_456, timeCost: 2, parallelism: 1 } as const;
const OUTPUT_BYTES = 32;
const SALT_BYTES = 16;
// argon2's own limits: at least 8 KiB per lane, at most 255 lanes, at least one pass.
const positiveInt = z.number().int().min(1).max(0xffff_ffff);
const schema = z
  .strictObject({
    memoryCostKiB: positiveInt.min(8).optional(),
    timeCost: positiveInt.optional(),
    parallelism: z.number().int().min(1).max(255).optional(),
    maxMemoryCostKiB: positiveInt.optional(),
    maxTimeCost: positiveInt.optional(),
    ...nativeThreadOptions,
  })
  .refine(
    (o) => (o.memoryCostKiB ?? OWASP.memoryCostKiB) >= 8 * (o.parallelism ?? OWASP.parallelism),
    {
      path: ['memoryCostKiB'],
      error: 'must be at least 8 KiB per lane (8 × parallelism)',
    },
  )
  .refine(
    (o) =>
      o.maxMemoryCostKiB === undefined ||
      o.maxMemoryCostKiB >= (o.memoryCostKiB ?? OWASP.memoryCostKiB),
    {
      path: ['maxMemoryCostKiB'],
      error: 'must not be below memoryCostKiB: the verifier would refuse its own hashes',
    },
  )
  .refine((o) => o.maxTimeCost === undefined || o.maxTimeCost >= (o.timeCost ?? OWASP.timeCost), {
    path: ['maxTimeCost'],
    error: 'must not be below timeCost: the verifier would refuse its own hashes',
  }) satisfies z.ZodType<Argon2VerifierOptions>;

/**
 * argon2id with `@node-rs/argon2` (Rust, an optional peer dependency: `npm
 * install @node-rs/argon2`). The defaults are OWASP's Password Storage Cheat
 * Sheet's first argon2id configuration: m=19456 KiB (19 MiB), t=2, p=1; the
 * sheet lists m=47104/t=1, m=12288/t=3, m=9216/t=4 and m=7168/t=5 (all p=1)
 * as equivalent. It runs on libuv's thread pool, off the event loop, behind a
 * bounded queue: a verification that cannot start within its `maxWaitMs` is
 * refused at once with code `OVERLOADED`. Verifies argon2id, argon2i and
 * argon2d hashes (versions 0x13 and 0x10); `needsRehash` is true for another
 * variant or version, less memory, fewer passes, a shorter digest or salt.
 * Each verification holds `m` KiB of memory while it runs: plan `threads × m`.
 *
 * @example
 * ```ts
 * const auth = createResilientAuth({ providers, verifier: argon2Verifier() });
 * ```
 */
export function argon2Verifier(options: Argon2VerifierOptions = {}): PasswordVerifier {
  return createArgon2Verifier(options, '@node-rs/argon2');
}

/** {@link argon2Verifier} loading `packageName`: tests point it at a package that is missing. */
export function createArgon2Verifier(
  options: Argon2VerifierOptions,
  packageName: string,
): PasswordVerifier {
  const parsed = parseFactoryOptions('argon2Verifier', schema, options);
  const target: Argon2HashOptions = {
    algorithm: ARGON2ID,
    version: VERSION_0x13,
    memoryCost: parsed.memoryCostKiB ?? OWASP.memoryCostKiB,
    timeCost: parsed.timeCost ?? OWASP.timeCost,
    parallelism: parsed.parallelism ?? OWASP.parallelism,
    outputLen: OUTPUT_BYTES,
  };
  const maxMemoryCost = parsed.maxMemoryCostKiB ?? Math.max(262_144, target.memoryCost);
  const maxTimeCost = parsed.maxTimeCost ?? Math.max(16, target.timeCost);
  const argon2 = loadOptionalPeer<NodeRsArgon2>(packageName, 'argon2Verifier');
  const queue = nativeVerifierQueue('argon2', parsed);

  /** The parameters of a hash this verifier takes, or `undefined`. */
  const paramsOf = (hash: unknown): Argon2Params | undefined => {
    if (typeof hash !== 'string' || !hash.startsWith('$argon2')) return undefined;
    let params: Argon2Params;
    try {
      params = argon2.parseOptions(hash);
    } catch {
      return undefined;
    }
    return params.memoryCost <= maxMemoryCost && params.timeCost <= maxTimeCost
      ? params
      : undefined;
  };

  return {
    maxPasswordBytes: ARGON2_MAX_PASSWORD_BYTES,
    isWellFormed: (hash) => paramsOf(hash) !== undefined,
    dummyHash: (like) => dummyArgon2Hash(paramsOf(like) ?? { ...target, saltLen: SALT_BYTES }),
    needsRehash(hash) {
      const params = paramsOf(hash);
      return (
        params !== undefined &&
        (params.algorithm !== target.algorithm ||
          params.version !== target.version ||
          params.memoryCost < target.memoryCost ||
          params.timeCost < target.timeCost ||
          params.outputLen < target.outputLen ||
          params.saltLen < SALT_BYTES)
      );
    },
    async verify(password, hash, verifyOptions) {
      if (paramsOf(hash) === undefined) throw malformedHash('argon2');
      return queue.run(
        'check the hash',
        () => argon2.verify(hash, password),
        verifyOptions?.maxWaitMs,
      );
    },
    async hash(password: string, hashOptions?: VerifyOptions) {
      assertHashable(password, ARGON2_MAX_PASSWORD_BYTES);
      return queue.run(
        'hash the password',
        () => argon2.hash(password, target),
        hashOptions?.maxWaitMs,
      );
    },
    close: () => queue.close(),
  };
}

/**
 * A well-formed argon2 hash with `params`' variant, version, memory, passes,
 * lanes and digest length, so verifying it costs what a real one costs, and
 * with a fixed digest no password produces. Built as a string: no hashing, so
 * it is synchronous and free.
 */
function dummyArgon2Hash(params: Argon2Params): string {
  const variant = VARIANT_NAMES[params.algorithm] ?? 'argon2id';
  const version = VERSION_NUMBERS[params.version] ?? 19;
  const salt = phcBase64(Buffer.alloc(SALT_BYTES, 0x5a));
  const digest = phcBase64(Buffer.alloc(params.outputLen, 0));
  return `$${variant}$v=${version}$m=${params.memoryCost},t=${params.timeCost},p=${params.parallelism}$${salt}$${digest}`;
}

/** The PHC string format's Base64: standard alphabet, no padding. */
function phcBase64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}
