import { describe, expectTypeOf, it } from 'vitest';
import {
  type AuthHttpError,
  type AuthProvider,
  type AuthResult,
  type AuthUnavailableError,
  type AuthUser,
  authenticateBody,
  createResilientAuth,
  type EmergencyAccess,
  type EmergencyAccessEvent,
  type EmergencyUser,
  emergencyAccountsFromEnv,
  emergencyProvider,
  type Failure,
  type FailureSummary,
  type HealthHttpResponse,
  healthResponse,
  isAuthUnavailableError,
  type LoginErrorStatus,
  type LoginOutcome,
  memoryProvider,
  type PgProvider,
  type ProviderFailure,
  type ProviderFailureEvent,
  pgProvider,
  type ResilientAuth,
  type RollbackEvent,
  type Rollout,
  type RolloutHealth,
  rollout,
  rolloutBucket,
  type ShadowMismatchEvent,
  type ShadowOutcome,
  sqlProvider,
} from '../../src/index.js';

interface AppUser {
  id: string;
  role: 'admin' | 'member';
}

describe('public types', () => {
  it('carries the app user type from providers to results', () => {
    const auth = createResilientAuth({
      providers: [memoryProvider<AppUser>({ accounts: [] })],
    });
    expectTypeOf(auth).toEqualTypeOf<ResilientAuth<AppUser>>();
    expectTypeOf(auth.authenticate).returns.resolves.toEqualTypeOf<AuthResult<AppUser>>();
  });

  it('narrows results on ok', () => {
    const result = {} as AuthResult<AppUser>;
    if (result.ok) {
      expectTypeOf(result.user).toEqualTypeOf<AppUser>();
      expectTypeOf(result.degraded).toBeBoolean();
      expectTypeOf(result.provider).toBeString();
    } else {
      expectTypeOf(result.reason).toEqualTypeOf<
        | 'invalid_credentials'
        | 'account_disabled'
        | 'account_locked'
        | 'rate_limited'
        | 'invalid_input'
      >();
    }
  });

  it('guards narrow unknown errors', () => {
    const error: unknown = undefined;
    if (isAuthUnavailableError(error)) {
      expectTypeOf(error).toEqualTypeOf<AuthUnavailableError>();
      expectTypeOf(error.failures).toEqualTypeOf<readonly ProviderFailure[]>();
    }
  });

  it('rejects credentials of the wrong shape at compile time', () => {
    const auth = createResilientAuth({ providers: [memoryProvider({ accounts: [] })] });
    // @ts-expect-error identifier is required
    void auth.authenticate({ password: 'x' });
  });
});

describe('public types of the failure model and the SQL providers', () => {
  it('reveals retryAfterMs and field only on the reasons that carry them', () => {
    const result = {} as AuthResult<AppUser>;
    if (!result.ok && (result.reason === 'account_locked' || result.reason === 'rate_limited')) {
      expectTypeOf(result.retryAfterMs).toEqualTypeOf<number>();
    }
    if (!result.ok && result.reason === 'invalid_input') {
      expectTypeOf(result.field).toEqualTypeOf<'identifier' | 'password' | 'context'>();
      // @ts-expect-error no retryAfterMs on invalid_input
      void result.retryAfterMs;
    }
    if (!result.ok && result.reason === 'invalid_credentials') {
      // @ts-expect-error no field on invalid_credentials
      void result.field;
    }
  });

  it('derives every failure shape from the one Failure record', () => {
    expectTypeOf<ProviderFailure>().toEqualTypeOf<Failure>();
    expectTypeOf<FailureSummary>().toEqualTypeOf<Omit<Failure, 'error'>>();
    expectTypeOf<ProviderFailureEvent>().toHaveProperty('transient').toEqualTypeOf<boolean>();
    expectTypeOf<ProviderFailureEvent>().not.toHaveProperty('error');
  });

  it('types the user of a SQL provider from toUser, and refuses an unchecked user type', () => {
    const executor = { query: async () => ({ rows: [] }) };
    const typed = sqlProvider({
      executor,
      table: 'users',
      toUser: (row): AppUser => ({ id: String(row.id), role: 'member' }),
    });
    expectTypeOf(typed).toEqualTypeOf<AuthProvider<AppUser>>();
    // An inferred object type is kept too, not widened to AuthUser.
    const inferred = pgProvider({
      connectionString: 'postgres://localhost/app',
      table: 'users',
      toUser: (row) => ({ id: Number(row.id), email: String(row.email) }),
    });
    expectTypeOf(inferred).toEqualTypeOf<PgProvider<{ id: number; email: string }>>();
    expectTypeOf(sqlProvider({ executor, table: 'users' })).toEqualTypeOf<AuthProvider<AuthUser>>();
    // @ts-expect-error a user type other than AuthUser needs toUser
    sqlProvider<AppUser>({ executor, table: 'users' });
    // @ts-expect-error the same for pgProvider
    pgProvider<AppUser>({ connectionString: 'postgres://localhost/app', table: 'users' });
  });

  it('types the HTTP layer from the app user type (an interface works)', () => {
    const auth = createResilientAuth({ providers: [memoryProvider<AppUser>({ accounts: [] })] });
    const outcome = authenticateBody(auth, {});
    expectTypeOf(outcome).resolves.toEqualTypeOf<LoginOutcome<AppUser>>();
    expectTypeOf(healthResponse(auth)).resolves.toEqualTypeOf<HealthHttpResponse>();
    expectTypeOf<AuthHttpError['status']>().toEqualTypeOf<LoginErrorStatus>();
    expectTypeOf<AuthHttpError['body']['error']>().toEqualTypeOf<
      | 'invalid_credentials'
      | 'account_disabled'
      | 'account_locked'
      | 'rate_limited'
      | 'invalid_input'
      | 'unavailable'
    >();
  });
});

describe('rollout types', () => {
  it('keeps the app user type through a rollout, its userId and its key', () => {
    const control = memoryProvider<AppUser>({ name: 'control', accounts: [] });
    const candidate = memoryProvider<AppUser>({ name: 'candidate', accounts: [] });
    const moving = rollout({
      name: 'users-v2',
      control: [control],
      candidate: [{ provider: candidate, policy: { timeoutMs: 200 } }],
      percent: 5,
      userId: (user) => user.id,
      key: (identifier, context) => `${context.ip ?? ''}${identifier}`,
    });
    expectTypeOf(moving).toEqualTypeOf<Rollout<AppUser>>();
    const auth = createResilientAuth({ providers: moving });
    expectTypeOf(auth).toEqualTypeOf<ResilientAuth<AppUser>>();
    expectTypeOf(auth.resumeRollout).parameter(0).toBeString();
    expectTypeOf(auth.health().rollout).toEqualTypeOf<RolloutHealth | undefined>();
    expectTypeOf<ShadowMismatchEvent['candidate']['outcome']>().toEqualTypeOf<ShadowOutcome>();
    expectTypeOf<RollbackEvent['reason']>().toEqualTypeOf<
      'failure_rate' | 'latency' | 'mismatch_rate'
    >();
    expectTypeOf(rolloutBucket).returns.toBeNumber();
    rollout({
      name: 'x',
      control: [control],
      candidate: [candidate],
      percent: 5,
      // @ts-expect-error the app user type's fields, not others
      userId: (user) => user.nope,
    });
  });
});

describe('break-glass types', () => {
  it('types the emergency user: the default one, or what `user` returns, which must match the providers', () => {
    const accounts = emergencyAccountsFromEnv('ops:$2b$10$...');
    const plain = emergencyProvider({ accounts, expiresAt: '2026-01-02T00:00:00Z' });
    expectTypeOf(plain).toEqualTypeOf<EmergencyAccess<EmergencyUser>>();
    const auth = createResilientAuth({
      providers: [memoryProvider({ accounts: [] })],
      emergency: plain,
    });
    const result = await_(auth.authenticate({ identifier: 'ops', password: 'x' }));
    if (result.ok) expectTypeOf(result.emergency).toEqualTypeOf<true | undefined>();
    const typed = emergencyProvider({
      accounts,
      expiresAt: new Date(),
      user: (identifier): AppUser => ({ id: identifier, role: 'admin' }),
    });
    expectTypeOf(typed).toEqualTypeOf<EmergencyAccess<AppUser>>();
    createResilientAuth({
      providers: [memoryProvider<AppUser>({ accounts: [] })],
      emergency: typed,
    });
    createResilientAuth({
      providers: [memoryProvider<AppUser>({ accounts: [] })],
      // @ts-expect-error the default emergency user is not an AppUser: give `user`
      emergency: plain,
    });
    // @ts-expect-error an expiry is required
    emergencyProvider({ accounts });
    expectTypeOf<EmergencyAccessEvent>().not.toHaveProperty('passwordHash');
    expectTypeOf(auth.health().emergency).toEqualTypeOf<
      { readonly accounts: number; readonly expiresAt: Date; readonly expired: boolean } | undefined
    >();
  });
});

/** The resolved type of a promise, for type tests that never run. */
declare function await_<T>(promise: Promise<T>): T;

describe('brownouts: slow-call breaker and hedged lookups', () => {
  type Index = typeof import('../../src/index.js');
  type PolicyOptions = import('../../src/index.js').PolicyOptions;
  type SlowCallOptions = import('../../src/index.js').SlowCallOptions;
  type LookupEvent = import('../../src/index.js').LookupEvent;

  it('types the options, their defaults and the hedge marker on lookups', () => {
    expectTypeOf<PolicyOptions['slowCalls']>().toEqualTypeOf<SlowCallOptions | false | undefined>();
    expectTypeOf<PolicyOptions['hedgeAfterMs']>().toEqualTypeOf<
      number | 'p95' | false | undefined
    >();
    expectTypeOf<SlowCallOptions['slowCallMs']>().toEqualTypeOf<number>();
    expectTypeOf<Index['DEFAULT_SLOW_CALLS']['rate']>().toEqualTypeOf<number>();
    expectTypeOf<LookupEvent['hedged']>().toEqualTypeOf<true | undefined>();
    expectTypeOf<LookupEvent['result']>().toEqualTypeOf<
      'found' | 'not_found' | 'failed' | 'cancelled'
    >();
    // @ts-expect-error slowCallMs is required
    const noThreshold: SlowCallOptions = { rate: 0.5 };
    void noThreshold;
  });
});
