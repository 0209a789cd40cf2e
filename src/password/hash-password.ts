import bcrypt from 'bcryptjs';
import { z } from 'zod';
import { ResilientAuthError } from '../errors/errors.js';
import { parseFactoryOptions } from '../errors/factory-options.js';
import { BCRYPT_MAX_PASSWORD_BYTES, fitsBcrypt, isBcryptCost } from './bcrypt-hash.js';

/** Options of {@link hashPassword}. */
export interface HashPasswordOptions {
  /** bcrypt cost factor. Default: `10`. */
  readonly cost?: number;
  /**
   * Unicode normalization applied to the password before it is hashed, the
   * same way `createResilientAuth({ normalize: 'NFKC' })` applies it before
   * verifying: use both or neither. Default: none (hashed exactly as given).
   */
  readonly normalize?: 'NFKC';
}

const schema = z.strictObject({
  cost: z.number().refine(isBcryptCost, { error: 'must be an integer from 4 to 31' }).optional(),
  normalize: z.literal('NFKC').optional(),
}) satisfies z.ZodType<HashPasswordOptions>;

/**
 * Hashes a password with bcrypt (bcryptjs), for seeding accounts and tests.
 * Refuses (never truncates) passwords longer than 72 UTF-8 bytes, once
 * normalized, since bcrypt would silently ignore the rest.
 *
 * `normalize: 'NFKC'` (NIST 800-63B's recommendation) makes a password typed
 * as NFD on one keyboard hash like the NFC typed on another. It is opt-in
 * because hashes made before were made from passwords as typed: turned on
 * alone, it would refuse every user whose password is not already in NFKC.
 * Turn it on here and in `createResilientAuth` together; the orchestrator
 * still lets such a user in as typed and hands back a normalized hash to
 * store (`result.rehash`, `onRehash`), which migrates them.
 *
 * @param options the bcrypt cost, or `{ cost, normalize }`. Default: cost `10`, no normalization.
 * @example
 * ```ts
 * const passwordHash = await hashPassword('correct horse battery staple', { normalize: 'NFKC' });
 * ```
 */
export async function hashPassword(
  password: string,
  options: number | HashPasswordOptions = {},
): Promise<string> {
  const { cost = 10, normalize } = parseFactoryOptions(
    'hashPassword',
    schema,
    typeof options === 'number' ? { cost: options } : options,
  );
  if (typeof password !== 'string' || password.length === 0) {
    throw new ResilientAuthError(
      'INVALID_INPUT',
      'hashPassword: password must be a non-empty string',
    );
  }
  const hashed = normalize === undefined ? password : password.normalize(normalize);
  if (!fitsBcrypt(hashed)) {
    throw new ResilientAuthError(
      'INVALID_INPUT',
      `hashPassword: password is longer than ${BCRYPT_MAX_PASSWORD_BYTES} UTF-8 bytes${normalize === undefined ? '' : ` once normalized to ${normalize}`}`,
    );
  }
  return bcrypt.hash(hashed, cost);
}
