import { healthResponder } from '../http/adapter-options.js';
import type { HealthResponseOptions, HealthSource } from '../http/health-response.js';

/**
 * A Next.js route handler (or any Fetch-style `(request) => Response`) for a
 * health endpoint: `application/health+json` in the IETF health-check format.
 * Readiness answers 200 `pass` while the primary serves, 200 `warn` while a
 * fallback serves, 503 `fail` only when no provider can decide; liveness is
 * always 200 `pass` and touches no database.
 *
 * @example
 * ```ts
 * // app/api/health/ready/route.ts
 * export const GET = healthHandler(resilientAuth);
 * // app/api/health/live/route.ts
 * export const GET = healthHandler(resilientAuth, { probe: 'liveness' });
 * ```
 */
export function healthHandler(
  auth: HealthSource,
  options?: HealthResponseOptions,
): (request?: Request) => Promise<Response> {
  const respond = healthResponder('healthHandler', auth, options);
  return async () => {
    const { status, headers, body } = await respond();
    return new Response(JSON.stringify(body), { status, headers });
  };
}
