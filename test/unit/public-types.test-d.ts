import { describe, expectTypeOf, it } from 'vitest';
import {
  type AuthResult,
  type AuthUnavailableError,
  createResilientAuth,
  isAuthUnavailableError,
  memoryProvider,
  type ProviderFailure,
  type ResilientAuth,
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
