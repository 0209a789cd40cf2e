// resilient-auth/passport: a Passport strategy. Passport is not imported at run
// time; the strategy is the object with `authenticate(req)` Passport expects.
export { loginFailure } from './login-failure.js';
export type { StrategySuccessInfo } from './resilient-auth-strategy.js';
export { ResilientAuthStrategy } from './resilient-auth-strategy.js';
export type {
  ResilientAuthStrategyOptions,
  StrategyInfo,
  VerifyDone,
  VerifyFunction,
  VerifyFunctionWithRequest,
} from './strategy-options.js';
export { DEFAULT_STRATEGY_FIELDS, DEFAULT_STRATEGY_NAME } from './strategy-options.js';
export type { StrategyRequest, StrategyResponse } from './strategy-request.js';
