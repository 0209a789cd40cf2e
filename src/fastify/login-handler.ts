import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { RequestContext } from '../hooks/events.js';
import {
  assertAuthenticator,
  functionOption,
  loginFieldsShape,
  parseLoginOptions,
} from '../http/adapter-options.js';
import {
  type Authenticator,
  type AuthHttpError,
  authenticateBody,
} from '../http/login-response.js';
import type { AuthSuccess } from '../orchestrator/result.js';
import type { AuthUser } from '../providers/provider.js';

/**
 * Answers a successful login: set the session, issue a token, redirect. What
 * it returns is the response payload, as in any async Fastify handler; it may
 * also answer through `reply` and return `reply`.
 */
export type LoginSuccessHandler<U = AuthUser> = (
  request: FastifyRequest,
  reply: FastifyReply,
  result: AuthSuccess<U>,
) => unknown;

/** Options of {@link loginHandler}. */
export interface LoginHandlerOptions<U = AuthUser> {
  /** Body field holding the identifier; a 400 names it. Default: `identifier`. */
  readonly identifierField?: string;
  /** Body field holding the password; a 400 names it. Default: `password`. */
  readonly passwordField?: string;
  /**
   * What to do with a successful login. Default: answer 200
   * `{ ok: true, user, mustChangePassword }` (never the provider, nor
   * `degraded`, nor `rehash`: store a rehash here, it is a password hash).
   */
  readonly onSuccess?: LoginSuccessHandler<U>;
  /**
   * The request context hooks and the throttle see. Default: `request.ip`
   * (which follows Fastify's `trustProxy`), the `user-agent` header and
   * `request.id` (Fastify's request id: the `x-request-id` header when the
   * app sets `requestIdHeader: 'x-request-id'`), each cut to what the
   * library accepts.
   */
  readonly context?: (request: FastifyRequest) => RequestContext;
}

/** A Fastify route handler, for `app.post(url, handler)` or a route's `handler`. */
export type LoginRouteHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

// authenticateBody cuts it to what the library accepts and leaves out absent values.
const defaultContext = (request: FastifyRequest): RequestContext => ({
  ip: request.ip,
  userAgent: request.headers['user-agent'],
  requestId: request.id,
});

/**
 * A route handler that authenticates the parsed `request.body` and answers
 * per the mapping table (README, "HTTP mapping"): a refusal or "cannot
 * decide" gets its status, `Retry-After` on 429 and 503, and the JSON body
 * every adapter sends (`{ error, message, field? }`). Options are checked
 * here, once: a bad one throws a `ConfigError` naming it.
 *
 * Give the route no body schema that coerces types: Fastify's ajv would turn
 * a numeric password into a string and hide the `invalid_input`.
 *
 * @example
 * ```ts
 * app.post('/login', loginHandler(app.auth, {
 *   identifierField: 'email',
 *   onSuccess: async (request, reply, { user }) => ({ id: user.id }),
 * }));
 * ```
 */
export function loginHandler<U>(
  auth: Authenticator<U>,
  options?: LoginHandlerOptions<U>,
): LoginRouteHandler {
  const schema = z.strictObject({
    ...loginFieldsShape,
    onSuccess: functionOption<LoginSuccessHandler<U>>().optional(),
    context: functionOption<(request: FastifyRequest) => RequestContext>().optional(),
  });
  assertAuthenticator('loginHandler', auth);
  const {
    fields,
    onSuccess,
    context = defaultContext,
  } = parseLoginOptions('loginHandler', schema, options);
  return async function login(request, reply) {
    const outcome = await authenticateBody(auth, request.body, fields, context(request));
    if (!outcome.ok) return sendLoginError(reply, outcome.error);
    if (onSuccess) return onSuccess(request, reply, outcome.result);
    const { user, mustChangePassword } = outcome.result;
    return { ok: true, user, mustChangePassword };
  };
}

// Fastify's default error handler would keep the status and Retry-After but
// answer its own body (`{ statusCode, code, error: 'Unauthorized', message }`):
// every adapter answers `error.body`, so the reply is sent here.
function sendLoginError(reply: FastifyReply, error: AuthHttpError): FastifyReply {
  return reply.code(error.status).headers(error.headers).send(error.body);
}
