import type { Context } from 'hono';
import { healthResponder } from '../http/adapter-options.js';
import type { HealthResponseOptions, HealthSource } from '../http/health-response.js';

/**
 * A Hono handler for a health endpoint: `application/health+json` in the IETF
 * health-check format, `Cache-Control: no-store`. Readiness answers 200
 * `pass` while the primary serves, 200 `warn` while a fallback serves, 503
 * `fail` only when no provider can decide; liveness always 200 `pass`
 * without touching a database. Options are checked here, not per request.
 *
 * @example
 * ```ts
 * app.get('/health/ready', healthHandler(auth, { probe: 'readiness' }));
 * app.get('/health/live', healthHandler(auth, { probe: 'liveness' }));
 * ```
 */
export function healthHandler(
  auth: HealthSource,
  options?: HealthResponseOptions,
): (c: Context) => Promise<Response> {
  const respond = healthResponder('healthHandler', auth, options);
  return async (c) => {
    const { status, headers, body } = await respond();
    return c.body(JSON.stringify(body), status, { ...headers });
  };
}
