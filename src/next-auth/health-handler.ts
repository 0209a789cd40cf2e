import { assertHealthSource, parseHealthOptions } from '../http/adapter-options.js';
import {
  type HealthResponseOptions,
  type HealthSource,
  healthResponse,
} from '../http/health-response.js';

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
  assertHealthSource('healthHandler', auth);
  const parsed = parseHealthOptions('healthHandler', options);
  return async () => {
    const { status, headers, body } = await healthResponse(auth, parsed);
    return new Response(JSON.stringify(body), { status, headers });
  };
}
