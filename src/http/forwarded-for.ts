/**
 * Which proxies to believe about the client address. `false`: none. A number
 * `n`: `n` proxies in front of the app each append the address they saw to
 * `X-Forwarded-For`, so the client is the `n`-th entry from the right; `true`
 * is `1`. Entries further left were written by the client and are never used.
 */
export type TrustProxy = boolean | number;

/**
 * The client address in an `X-Forwarded-For` header as far as `trustProxy`
 * allows: the address the outermost trusted proxy saw, `n` entries from the
 * right (the leftmost when the chain is shorter: the request skipped a proxy).
 * `undefined` without a header or when no proxy is trusted.
 */
export function forwardedClientIp(
  header: string | null | undefined,
  trustProxy: TrustProxy,
): string | undefined {
  const hops = trustProxy === true ? 1 : trustProxy || 0;
  if (hops === 0 || header === null || header === undefined) return undefined;
  const entries = header
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  return entries[Math.max(0, entries.length - hops)];
}
