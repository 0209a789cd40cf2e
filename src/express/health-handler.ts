import type { NextFunction, Request, Response } from 'express';
import { healthResponder } from '../http/adapter-options.js';
import type { HealthResponseOptions, HealthSource } from '../http/health-response.js';
import { forwardError } from './forward-error.js';

/** The route handler {@link healthHandler} returns. */
export type HealthMiddleware = (req: Request, res: Response, next: NextFunction) => void;

/**
 * An Express route handler for a health endpoint: `application/health+json`
 * in the IETF health-check format, `Cache-Control: no-store`, 200 for `pass`
 * and `warn`, 503 for `fail` (see `healthResponse`). Wire `probe: 'readiness'`
 * (the default) to Kubernetes' readiness probe and `probe: 'liveness'`,
 * which never touches a database, to its liveness probe.
 *
 * @example
 * ```ts
 * app.get('/health/ready', healthHandler(auth));
 * app.get('/health/live', healthHandler(auth, { probe: 'liveness' }));
 * ```
 */
export function healthHandler(
  auth: HealthSource,
  options?: HealthResponseOptions,
): HealthMiddleware {
  const respond = healthResponder('healthHandler', auth, options);
  return (_req, res, next) => {
    respond().then(
      ({ status, headers, body }) => {
        // `send` of a string, not `json`: Express would add its own content type otherwise.
        res.status(status).set(headers).send(JSON.stringify(body));
      },
      (error: unknown) => forwardError(next, error),
    );
  };
}
