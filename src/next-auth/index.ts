// resilient-auth/next-auth: an `authorize` for the Auth.js Credentials provider
// (@auth/core 0.41, next-auth v5), and health route handlers.

export type { TrustProxy } from '../http/forwarded-for.js';
export type { AuthjsUser, AuthorizeOptions, CredentialsAuthorize } from './authorize.js';
export { authorize } from './authorize.js';
export { healthHandler } from './health-handler.js';
export type { ResilientAuthSigninCode } from './signin-errors.js';
export {
  isResilientAuthSignin,
  isServiceUnavailableSignin,
  ResilientAuthSignin,
  ServiceUnavailableSignin,
} from './signin-errors.js';
