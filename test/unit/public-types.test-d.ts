import { describe, expectTypeOf, it } from 'vitest';
import {
  type AuthHttpError,
  type AuthProvider,
  type AuthResult,
  type AuthUnavailableError,
  type AuthUser,
  authenticateBody,
  createResilientAuth,
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
