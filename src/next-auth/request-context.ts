import type { RequestContext } from '../hooks/events.js';
import { forwardedClientIp, type TrustProxy } from '../http/forwarded-for.js';

/**
 * The {@link RequestContext} of a request Auth.js hands to `authorize`:
 * `User-Agent`, `X-Request-Id`, and the client IP from `X-Forwarded-For` only
 * as far as `trustProxy` allows (`authenticateBody` cuts each value to what
 * the library accepts).
 */
export function contextFromRequest(request: unknown, trustProxy: TrustProxy): RequestContext {
  const headers = (request as { headers?: unknown } | null | undefined)?.headers;
  if (!isHeaders(headers)) return {};
  return {
    ip: forwardedClientIp(headers.get('x-forwarded-for'), trustProxy),
    userAgent: headers.get('user-agent') ?? undefined,
    requestId: headers.get('x-request-id') ?? undefined,
  };
}

function isHeaders(value: unknown): value is { get(name: string): string | null } {
  return typeof (value as { get?: unknown } | null | undefined)?.get === 'function';
}
