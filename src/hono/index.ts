// resilient-auth/hono: login middleware and health handlers for Hono.
// No Node-only API: runtime imports are `hono/*` and the framework-free layer.

export type {
  HealthBody,
  HealthProbe,
  HealthResponseOptions,
  HealthSource,
} from '../http/health-response.js';
export type { Authenticator, LoginErrorBody } from '../http/login-response.js';
export { AuthHttpError, isAuthHttpError } from '../http/login-response.js';
export { healthHandler } from './health-handler.js';
export type { HonoLoginOptions, LoginEnv, LoginVariables } from './login.js';
export { login } from './login.js';
export { loginException } from './login-exception.js';
