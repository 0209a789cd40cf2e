// $2x$ (PHP's marker for hashes made by the old, buggy crypt_blowfish) is not
// something bcryptjs can check: such a hash is malformed here, denied and alerted.
const BCRYPT_HASH = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

// Any well-formed salt and digest will do: bcrypt's cost depends only on the
// cost factor, and this digest matches no password.
const DUMMY_SALT_AND_DIGEST = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0';

/** bcrypt's input limit: it silently ignores bytes past 72. */
export const BCRYPT_MAX_PASSWORD_BYTES = 72;

/** True when bcrypt reads all of `password`: at most 72 UTF-8 bytes (it would ignore the rest). */
export function fitsBcrypt(password: string): boolean {
  return Buffer.byteLength(password, 'utf8') <= BCRYPT_MAX_PASSWORD_BYTES;
}

/** True for a cost factor bcrypt takes: an integer from 4 to 31. */
export function isBcryptCost(cost: number): boolean {
  return Number.isInteger(cost) && cost >= 4 && cost <= 31;
}

/** The cost factor of a well-formed bcrypt hash, or `undefined` when malformed. */
export function bcryptCost(hash: unknown): number | undefined {
  if (typeof hash !== 'string') return undefined;
  const match = BCRYPT_HASH.exec(hash);
  return match ? Number(match[1]) : undefined;
}

/** A well-formed bcrypt hash of the given cost that no password matches. */
export function dummyBcryptHash(cost: number): string {
  return `$2b$${String(cost).padStart(2, '0')}$${DUMMY_SALT_AND_DIGEST}`;
}
