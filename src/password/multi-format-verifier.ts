import { z } from 'zod';
import { ResilientAuthError } from '../errors/errors.js';
import { parseFactoryOptions } from '../errors/factory-options.js';
import type { PasswordVerifier, VerifyOptions } from './verifier.js';

/** Options of {@link multiFormatVerifier}. */
export interface MultiFormatVerifierOptions {
  /** The format new hashes are made in: its `hash` and `needsRehash` are the ones used. Tried first. */
  readonly target: PasswordVerifier;
  /** Formats still accepted at login until every user has been rehashed, tried in this order. At least one. */
  readonly accept: readonly PasswordVerifier[];
}

type BoundedHash = (password: string, options?: VerifyOptions) => Promise<string>;

const verifierSchema = z.custom<PasswordVerifier>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    ['verify', 'isWellFormed', 'dummyHash'].every(
      (method) => typeof (value as Record<string, unknown>)[method] === 'function',
    ),
  { error: 'must be a password verifier (verify, isWellFormed and dummyHash functions)' },
);

const schema = z.strictObject({
  target: verifierSchema,
  accept: z.array(verifierSchema).min(1, 'give at least one other format to accept'),
}) satisfies z.ZodType<MultiFormatVerifierOptions>;

/**
 * Accepts several hash formats at once, so a user base moves to a new one
 * gradually: each login with a correct password and an old-format (or
 * weaker) hash gets a new hash from `target` (`result.rehash`, `onRehash`)
 * for the app to store. A hash goes to the first verifier, `target` first,
 * whose `isWellFormed` takes it.
 *
 * - `dummyHash(like)` is the dummy of the verifier that owns `like` (the
 *   target's when none does), so an unknown identifier costs what that
 *   user base's real hashes cost, per algorithm.
 * - `maxPasswordBytes` is the smallest of them: it is checked before the
 *   lookup, when the stored hash's format is not known yet, and a password
 *   longer than bcrypt takes must never reach bcrypt, which would truncate it.
 *   With bcrypt accepted, passwords are therefore limited to 72 bytes; drop
 *   bcrypt from `accept` once no bcrypt hash is left to lift that.
 * - Without `target.hash` and `target.needsRehash` it only accepts the
 *   formats and never rehashes.
 * - Each verifier keeps its own threads. Two native ones (argon2 and native
 *   bcrypt) share libuv's thread pool: give them `threads` that add up to less
 *   than its size.
 * - `close()` closes them all.
 *
 * @example
 * ```ts
 * const verifier = multiFormatVerifier({ target: argon2Verifier(), accept: [bcryptVerifier()] });
 * const auth = createResilientAuth({ providers, verifier, hooks: { onRehash: storeNewHash } });
 * ```
 */
export function multiFormatVerifier(options: MultiFormatVerifierOptions): PasswordVerifier {
  const { target, accept } = parseFactoryOptions('multiFormatVerifier', schema, options);
  const all = [...new Set([target, ...accept])];
  const ownerOf = (hash: string | undefined) =>
    hash === undefined ? undefined : all.find((verifier) => verifier.isWellFormed(hash));
  const limits = all.flatMap((verifier) =>
    verifier.maxPasswordBytes === undefined ? [] : [verifier.maxPasswordBytes],
  );
  const { hash, needsRehash } = target;

  return {
    ...(limits.length > 0 && { maxPasswordBytes: Math.min(...limits) }),
    isWellFormed: (stored) => ownerOf(stored) !== undefined,
    dummyHash: (like) => (ownerOf(like) ?? target).dummyHash(like),
    verify(password, stored, verifyOptions) {
      const owner = ownerOf(stored);
      if (owner === undefined) {
        return Promise.reject(
          new ResilientAuthError('VERIFIER_FAILED', 'not a hash any accepted format takes'),
        );
      }
      return owner.verify(password, stored, verifyOptions);
    },
    ...(hash !== undefined &&
      needsRehash !== undefined && {
        needsRehash: (stored: string) =>
          !target.isWellFormed(stored) || needsRehash.call(target, stored),
        // The shipped verifiers take a wait bound for hashing too; passed on as given.
        hash: (password: string, hashOptions?: VerifyOptions) =>
          (hash as BoundedHash).call(target, password, hashOptions),
      }),
    async close() {
      await Promise.all(all.map((verifier) => verifier.close?.()));
    },
  };
}
