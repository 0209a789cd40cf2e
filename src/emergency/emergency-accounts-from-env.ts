import { ConfigError } from '../errors/errors.js';
import type { EmergencyAccount } from './emergency-provider.js';

/**
 * Reads {@link EmergencyAccount}s from an environment variable of the form
 * `identifier:hash,identifier:hash` (bcrypt hashes contain no `:` and no `,`).
 * Whitespace and line breaks around entries are ignored, and so is an empty
 * entry (a trailing comma). The hashes are checked by `emergencyProvider()`.
 * Errors name the entry by its position and never quote the value.
 *
 * In a shell or a `.env` file with `$` expansion, quote the value with
 * single quotes: `$2b$12$...` would otherwise lose its `$` parts.
 *
 * @param value the variable's value, e.g. `process.env.BREAK_GLASS_ACCOUNTS`.
 * @example
 * ```ts
 * // BREAK_GLASS_ACCOUNTS='ops-alice:$2b$12$...,ops-bob:$2b$12$...'
 * const accounts = emergencyAccountsFromEnv(process.env.BREAK_GLASS_ACCOUNTS);
 * ```
 * @throws {@link ConfigError} (option `emergencyAccountsFromEnv`) when the value is unset,
 * empty, or an entry is not `identifier:hash`.
 */
export function emergencyAccountsFromEnv(value: string | undefined): EmergencyAccount[] {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigError(
      'emergencyAccountsFromEnv',
      'the variable is not set or empty: expected identifier:hash,identifier:hash',
    );
  }
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  return entries.map((entry, i) => {
    const colon = entry.indexOf(':');
    const identifier = entry.slice(0, colon).trim();
    const passwordHash = entry.slice(colon + 1).trim();
    if (colon < 0 || identifier === '' || passwordHash === '') {
      throw new ConfigError(
        `emergencyAccountsFromEnv.${i}`,
        `entry ${i} (counting from 0) is not identifier:hash`,
      );
    }
    if (passwordHash.includes(':')) {
      throw new ConfigError(
        `emergencyAccountsFromEnv.${i}`,
        `entry ${i} (counting from 0) has more than one ":": identifiers cannot contain one, bcrypt hashes have none`,
      );
    }
    return { identifier, passwordHash };
  });
}
