import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';

/** The counter keys of one attempt; a key is absent when its limit cannot apply (no IP known). */
export interface ThrottleKeys {
  readonly account: string;
  readonly consecutive: string | undefined;
  readonly ip: string | undefined;
}

/**
 * The keys an attempt counts under. The identifier is normalized (NFKC, then
 * lower case) so that `Ada@x` and `ada@x` share a count, and every key is a
 * SHA-256 digest (43 characters of base64url): the store holds no
 * identifier nor address, and a 10 KB identifier makes a key as short as any.
 * The password is not an input: no key can hold it.
 */
export function throttleKeys(identifier: string, ip: string | undefined): ThrottleKeys {
  const account = normalizeIdentifier(identifier);
  const address = ip === undefined || ip === '' ? undefined : normalizeIp(ip);
  return {
    account: digest(['account', account]),
    consecutive: address === undefined ? undefined : digest(['consecutive', account, address]),
    ip: address === undefined ? undefined : digest(['ip', address]),
  };
}

/** NFKC then lower case, locale-independent: fullwidth `Ａｄａ` and `ADA` count as `ada`. */
export function normalizeIdentifier(identifier: string): string {
  return identifier.normalize('NFKC').toLowerCase();
}

// A dual-stack socket reports an IPv4 client as `::ffff:1.2.3.4`: the same address.
function normalizeIp(ip: string): string {
  const lower = ip.trim().toLowerCase();
  const mapped = lower.startsWith('::ffff:') ? lower.slice('::ffff:'.length) : undefined;
  return mapped !== undefined && isIPv4(mapped) ? mapped : lower;
}

// JSON keeps the parts apart: ['a:b', 'c'] and ['a', 'b:c'] never share a key.
function digest(parts: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
}
