import { createHash } from 'node:crypto';
import { isIPv4, isIPv6, SocketAddress } from 'node:net';

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

/**
 * One key per client address, however it is written: `::ffff:1.2.3.4` (a
 * dual-stack socket's IPv4 client) is `1.2.3.4`, and an IPv6 address counts
 * by its /64 network, the smallest block a client is usually given (one
 * client holds 2^64 addresses: keyed one by one, it would never reach a
 * limit). Anything else (not an address) is keyed as given, lower-cased.
 */
export function normalizeIp(ip: string): string {
  const lower = ip.trim().toLowerCase();
  if (isIPv4(lower)) return lower;
  const zoneless = lower.split('%')[0] ?? lower;
  if (!isIPv6(zoneless)) return lower;
  const canonical = new SocketAddress({ address: zoneless, family: 'ipv6' }).address;
  const mapped = canonical.startsWith('::ffff:') ? canonical.slice('::ffff:'.length) : '';
  if (isIPv4(mapped)) return mapped;
  return `${ipv6Groups(canonical).slice(0, 4).join(':')}::/64`;
}

/** The eight groups of a canonical IPv6 address (`2001:db8::1` has zeros for `::`). */
function ipv6Groups(canonical: string): string[] {
  const [head = '', tail] = canonical.split('::');
  const front = head === '' ? [] : head.split(':');
  if (tail === undefined) return front;
  const back = tail === '' ? [] : tail.split(':');
  return [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back];
}

// JSON keeps the parts apart: ['a:b', 'c'] and ['a', 'b:c'] never share a key.
function digest(parts: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
}
