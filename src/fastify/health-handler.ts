import type { FastifyReply, FastifyRequest } from 'fastify';
import { healthResponder } from '../http/adapter-options.js';
import type { HealthResponseOptions, HealthSource } from '../http/health-response.js';

/** Options of {@link healthHandler}: the probe, and whether readiness runs active checks. */
export type HealthHandlerOptions = HealthResponseOptions;

/** A Fastify route handler, for `app.get(url, handler)` or a route's `handler`. */
export type HealthRouteHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/**
 * A route handler answering `application/health+json` (IETF health-check
 * format). Readiness: 200 `pass` while the primary serves, 200 `warn` while a
 * fallback serves, 503 `fail` only when no provider can decide. Liveness:
 * always 200, with no I/O. Bad options throw a `ConfigError` naming them.
 *
 * @example
 * ```ts
 * app.get('/health/ready', healthHandler(app.auth));
 * app.get('/health/live', healthHandler(app.auth, { probe: 'liveness' }));
 * ```
 */
export function healthHandler(
  auth: HealthSource,
  options?: HealthHandlerOptions,
): HealthRouteHandler {
  const respond = healthResponder('healthHandler', auth, options);
  return async function health(_request, reply) {
    const { status, headers, body } = await respond();
    return reply.code(status).headers(headers).send(body);
  };
}
