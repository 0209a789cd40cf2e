// The public API of resilient-auth. Everything exported is listed here by name.

export type { AuditDropEvent, AuditDropReason, AuditSinkOptions } from './audit/audit-options.js';
export { AUDIT_DEFAULTS } from './audit/audit-options.js';
export type { AuditOutcome } from './audit/audit-row.js';
export type { AuditSchemaOptions, AuditTable } from './audit/audit-schema.js';
export { AUDIT_COLUMNS, auditSchemaSql, DEFAULT_AUDIT_TABLE } from './audit/audit-schema.js';
export type { AuditSink } from './audit/audit-sink.js';
export { auditSink } from './audit/audit-sink.js';
export { emergencyAccountsFromEnv } from './emergency/emergency-accounts-from-env.js';
export type {
  EmergencyAccess,
  EmergencyAccount,
  EmergencyProviderOptions,
  EmergencyUser,
} from './emergency/emergency-provider.js';
export {
  EMERGENCY_FAILED_CHECKS,
  EMERGENCY_FAILED_CHECKS_WINDOW_MS,
  EMERGENCY_PROVIDER,
  emergencyProvider,
  MAX_EMERGENCY_LIFETIME_MS,
  MIN_EMERGENCY_BCRYPT_COST,
} from './emergency/emergency-provider.js';
export { errorCode, failureHint, failureKind, isTransientError } from './errors/classify.js';
export type {
  Failure,
  FailureKind,
  ProviderFailure,
  ResilientAuthErrorCode,
  SkipReason,
} from './errors/errors.js';
export {
  AuthUnavailableError,
  ConfigError,
  isAuthUnavailableError,
  isConfigError,
  isResilientAuthError,
  isSchemaMismatchError,
  MIN_RETRY_AFTER_MS,
  ResilientAuthError,
  SchemaMismatchError,
} from './errors/errors.js';
export type { AttemptOutcome } from './hooks/attempt-outcome.js';
export { ATTEMPT_OUTCOMES, attemptOutcome } from './hooks/attempt-outcome.js';
export type {
  AttachedAuth,
  AttemptEvent,
  AttemptStartEvent,
  AuthCall,
  AuthHookEvent,
  AuthHookName,
  AuthHooks,
  CircuitStateChangeEvent,
  CircuitStateName,
  DegradedEvent,
  EmergencyAccessEvent,
  EmergencyRefusal,
  FailureSummary,
  FallbackEvent,
  HookSetHealth,
  InvalidHashEvent,
  LookupEvent,
  LookupResult,
  ProviderFailureEvent,
  RecoveredEvent,
  RehashEvent,
  RejectionCause,
  RequestContext,
  RollbackEvent,
  RollbackReason,
  RolloutResumedEvent,
  SchemaDriftEvent,
  ShadowMismatchEvent,
  ShadowOutcome,
  ShadowSide,
  ThrottleLimitName,
  ThrottleStoreFailureEvent,
  ThrottleStoreName,
  ThrottleStoreRecoveredEvent,
  UnavailableEvent,
} from './hooks/events.js';
export type { Logger } from './hooks/logger.js';
export type {
  HealthBody,
  HealthCheckEntry,
  HealthCheckStatus,
  HealthHttpResponse,
  HealthProbe,
  HealthResponseOptions,
  HealthSource,
} from './http/health-response.js';
export { healthResponse } from './http/health-response.js';
export type {
  Authenticator,
  LoginErrorBody,
  LoginErrorStatus,
  LoginFields,
  LoginOutcome,
} from './http/login-response.js';
export {
  AuthHttpError,
  authenticateBody,
  DEFAULT_LOGIN_FIELDS,
  isAuthHttpError,
  refusalError,
  requestContext,
  retryAfterSeconds,
  unavailableError,
} from './http/login-response.js';
export type { Clock } from './orchestrator/clock.js';
export type { ResilientAuth } from './orchestrator/create-resilient-auth.js';
export { createResilientAuth } from './orchestrator/create-resilient-auth.js';
export type { Credentials } from './orchestrator/credentials.js';
export { MAX_IDENTIFIER_LENGTH } from './orchestrator/credentials.js';
export type {
  CheckReport,
  EmergencyHealth,
  FailureDescription,
  HealthSnapshot,
  HealthStatus,
  ProviderCheck,
  ProviderHealth,
} from './orchestrator/health.js';
export type {
  AuthMode,
  ConsecutiveBreakerOptions,
  FailureRateBreakerOptions,
  PolicyOptions,
  ProviderWithPolicy,
  ResilientAuthOptions,
  RetryOptions,
  SlowCallOptions,
} from './orchestrator/options.js';
export {
  DEFAULT_DEADLINE_MS,
  DEFAULT_POLICY,
  DEFAULT_SLOW_CALLS,
} from './orchestrator/options.js';
export type {
  AuthFailure,
  AuthFailureReason,
  AuthResult,
  AuthSuccess,
} from './orchestrator/result.js';
export type { Argon2VerifierOptions } from './password/argon2-verifier.js';
export { ARGON2_MAX_PASSWORD_BYTES, argon2Verifier } from './password/argon2-verifier.js';
export type { BcryptVerifierOptions } from './password/bcrypt-verifier.js';
export { bcryptVerifier } from './password/bcrypt-verifier.js';
export type { HashPasswordOptions } from './password/hash-password.js';
export { hashPassword } from './password/hash-password.js';
export type { MultiFormatVerifierOptions } from './password/multi-format-verifier.js';
export { multiFormatVerifier } from './password/multi-format-verifier.js';
export type { NativeBcryptVerifierOptions } from './password/native-bcrypt-verifier.js';
export { nativeBcryptVerifier } from './password/native-bcrypt-verifier.js';
export type { NativeThreadOptions } from './password/native-verifier-queue.js';
export type { PasswordVerifier, VerifyOptions } from './password/verifier.js';
export type { VerifyQueueOptions } from './password/verify-queue.js';
export { VerifyQueue } from './password/verify-queue.js';
export type { ColumnMapping, UserRow } from './providers/columns.js';
export { DEFAULT_COLUMNS } from './providers/columns.js';
export type {
  MemoryAccount,
  MemoryProvider,
  MemoryProviderOptions,
} from './providers/memory-provider.js';
export { memoryProvider, simulatedOutage } from './providers/memory-provider.js';
export type { OrmProviderOptions } from './providers/orm-provider.js';
export { ormProvider } from './providers/orm-provider.js';
export type {
  PgPoolOptions,
  PgProvider,
  PgProviderOptions,
} from './providers/pg-provider.js';
export { pgProvider } from './providers/pg-provider.js';
export type {
  Account,
  AuthProvider,
  AuthUser,
  ProviderCallContext,
  ProviderNotice,
} from './providers/provider.js';
export type { Queryable, Row } from './providers/queryable.js';
export type { SqlProviderOptions } from './providers/sql-provider.js';
export { sqlProvider } from './providers/sql-provider.js';
export type { TableOptions } from './providers/table-lookup.js';
export { rolloutBucket } from './rollout/bucket.js';
export type {
  ProviderList,
  RollbackOptions,
  Rollout,
  RolloutOptions,
} from './rollout/rollout.js';
export { ROLLBACK_DEFAULTS, rollout } from './rollout/rollout.js';
export type { RolloutCounts, RolloutHealth } from './rollout/rollout-state.js';
export {
  applyReferenceSchema,
  REFERENCE_COLUMNS,
  referenceSchemaSql,
} from './schema/reference-schema.js';
export type {
  ExpectedColumn,
  SchemaReport,
  ValidateSchemaOptions,
} from './schema/validate-schema.js';
export { validateSchema } from './schema/validate-schema.js';
export type {
  AccountLimitOptions,
  ConsecutiveLimitOptions,
  IpLimitOptions,
  MemoryThrottleStore,
  PostgresThrottleStore,
  RedisThrottleStore,
  ThrottleIoRedisClient,
  ThrottleNodeRedisClient,
  ThrottleOptions,
  ThrottlePgPool,
  ThrottleRedisClient,
  ThrottleStoreOptions,
} from './throttle/throttle-options.js';
export { DEFAULT_THROTTLE } from './throttle/throttle-options.js';
export { throttleSchemaSql } from './throttle/throttle-schema.js';
