import { z } from 'zod';
import { parseFactoryOptions } from '../errors/factory-options.js';
import {
  BCRYPT_MAX_PASSWORD_BYTES,
  bcryptCost,
  dummyBcryptHash,
  fitsBcrypt,
  isBcryptCost,
} from './bcrypt-hash.js';
import {
  assertHashable,
  malformedHash,
  type NativeThreadOptions,
  nativeThreadOptions,
  nativeVerifierQueue,
} from './native-verifier-queue.js';
import { loadOptionalPeer } from './optional-peer.js';
import type { PasswordVerifier, VerifyOptions } from './verifier.js';

/** Options of {@link nativeBcryptVerifier}. */
export interface NativeBcryptVerifierOptions extends NativeThreadOptions {
  /**
   * bcrypt cost of new hashes ({@link PasswordVerifier.hash}); a matched hash
   * of a lower cost needs a rehash; the cost of the dummy hash before any real
   * hash has been seen. Default: `10`.
   */
  readonly cost?: number;
}

/**
 * Just the parts of `@node-rs/bcrypt` 1.10 that {@link nativeBcryptVerifier}
 * uses. (2.0 changed `hash` to take options, and is published for Linux x64
 * only: its other platform packages are missing from the registry.)
 */
interface NodeRsBcrypt {
  hash(password: string, cost: number): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
}

// New hashes are $2b$, bcrypt's current marker. $2a$ (OpenBSD's before its 2014
// length fix) and $2y$ (PHP's) verify alike up to 72 bytes; a matched one is
// rehashed to $2b$ all the same, so one marker remains.
const TARGET_PREFIX = '$2b$';

const schema = z.strictObject({
  cost: z.number().refine(isBcryptCost, { error: 'must be an integer from 4 to 31' }).optional(),
  ...nativeThreadOptions,
}) satisfies z.ZodType<NativeBcryptVerifierOptions>;

/**
 * bcrypt with `@node-rs/bcrypt` (Rust, an optional peer dependency: `npm install
 * @node-rs/bcrypt`): faster than bcryptjs at the same cost, so more logins per
 * core, and the hashes are the same `$2b$` strings either can check. It runs on
 * libuv's thread pool, off the event loop, behind a bounded queue: a
 * verification that cannot start within its `maxWaitMs` is refused at once
 * with code `OVERLOADED`. Rehashes (`needsRehash`, `hash`) to `cost` and to the
 * `$2b$` variant. Passwords longer than 72 UTF-8 bytes are refused, never
 * truncated: `verify` answers `false`, `hash` throws.
 *
 * @example
 * ```ts
 * const auth = createResilientAuth({ providers, verifier: nativeBcryptVerifier({ cost: 12 }) });
 * ```
 */
export function nativeBcryptVerifier(options: NativeBcryptVerifierOptions = {}): PasswordVerifier {
  return createNativeBcryptVerifier(options, '@node-rs/bcrypt');
}

/** {@link nativeBcryptVerifier} loading `packageName`: tests point it at a package that is missing. */
export function createNativeBcryptVerifier(
  options: NativeBcryptVerifierOptions,
  packageName: string,
): PasswordVerifier {
  const parsed = parseFactoryOptions('nativeBcryptVerifier', schema, options);
  const cost = parsed.cost ?? 10;
  const bcrypt = loadOptionalPeer<NodeRsBcrypt>(packageName, 'nativeBcryptVerifier');
  const queue = nativeVerifierQueue('native bcrypt', parsed);

  return {
    maxPasswordBytes: BCRYPT_MAX_PASSWORD_BYTES,
    isWellFormed: (hash) => bcryptCost(hash) !== undefined,
    dummyHash: (like) => dummyBcryptHash(bcryptCost(like) ?? cost),
    needsRehash(hash) {
      const hashCost = bcryptCost(hash);
      return hashCost !== undefined && (hashCost < cost || !hash.startsWith(TARGET_PREFIX));
    },
    async verify(password, hash, verifyOptions) {
      if (bcryptCost(hash) === undefined) throw malformedHash('native bcrypt');
      // @node-rs/bcrypt ignores bytes past 72: a longer password is never the one set.
      if (!fitsBcrypt(password)) return false;
      return queue.run(
        'check the hash',
        () => bcrypt.verify(password, hash),
        verifyOptions?.maxWaitMs,
      );
    },
    async hash(password: string, hashOptions?: VerifyOptions) {
      assertHashable(password, BCRYPT_MAX_PASSWORD_BYTES);
      return queue.run(
        'hash the password',
        // Never past 72 bytes: assertHashable refused those above. 1.10 writes
        // $2y$, the same algorithm as $2b$ under PHP's marker: only the marker changes.
        async () => (await bcrypt.hash(password, cost)).replace(/^\$2y\$/, TARGET_PREFIX),
        hashOptions?.maxWaitMs,
      );
    },
    close: () => queue.close(),
  };
}
