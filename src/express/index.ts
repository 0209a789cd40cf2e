// resilient-auth/express: login middleware, error handler and health endpoints for Express 5 and 4.

export type { HealthResponseOptions } from '../http/health-response.js';
export type { HealthMiddleware } from './health-handler.js';
export { healthHandler } from './health-handler.js';
export type { ExpressLoginOptions, LoginLocals, LoginMiddleware } from './login.js';
export { login } from './login.js';
export type { LoginErrorMiddleware } from './login-error-handler.js';
export { loginErrorHandler } from './login-error-handler.js';
