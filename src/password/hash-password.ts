import bcrypt from 'bcryptjs';
import { ResilientAuthError } from '../errors/errors.js';
import { BCRYPT_MAX_PASSWORD_BYTES, fitsBcrypt, isBcryptCost } from './bcrypt-hash.js';

/**
 * Hashes a password with bcrypt (bcryptjs), for seeding accounts and tests.
 * Refuses (never truncates) passwords longer than 72 UTF-8 bytes, since bcrypt
 * would silently ignore the rest.
 *
 * @param cost bcrypt cost factor. Default: `10`.
 * @example
 * ```ts
 * const passwordHash = await hashPassword('correct horse battery staple');
 * ```
 */
export async function hashPassword(password: string, cost = 10): Promise<string> {
  if (typeof password !== 'string' || password.length === 0) {
    throw new ResilientAuthError(
      'INVALID_INPUT',
      'hashPassword: password must be a non-empty string',
    );
  }
  if (!fitsBcrypt(password)) {
    throw new ResilientAuthError(
      'INVALID_INPUT',
      `hashPassword: password is longer than ${BCRYPT_MAX_PASSWORD_BYTES} UTF-8 bytes`,
    );
  }
  if (!isBcryptCost(cost)) {
    throw new ResilientAuthError(
      'INVALID_INPUT',
      'hashPassword: cost must be an integer from 4 to 31',
    );
  }
  return bcrypt.hash(password, cost);
}
