// resilient-auth/fastify: the Fastify plugin, login and health route handlers.

export type { HealthHandlerOptions, HealthRouteHandler } from './health-handler.js';
export { healthHandler } from './health-handler.js';
export type {
  LoginHandlerOptions,
  LoginRouteHandler,
  LoginSuccessHandler,
} from './login-handler.js';
export { loginHandler } from './login-handler.js';
export type {
  FastifyAuthUser,
  ResilientAuthPluginOptions,
  ResilientAuthTypes,
} from './plugin.js';
export { resilientAuth } from './plugin.js';
