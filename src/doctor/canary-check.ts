import { failureHint, safeMessage } from '../errors/classify.js';
import { isAuthUnavailableError } from '../errors/errors.js';
import type { Logger } from '../hooks/logger.js';
import { createResilientAuth } from '../orchestrator/create-resilient-auth.js';
import type { AuthFailureReason } from '../orchestrator/result.js';
import { bcryptVerifier } from '../password/bcrypt-verifier.js';
import { pgProvider } from '../providers/pg-provider.js';
import { type Finding, fail, pass, skip } from './check-result.js';
import type { CanaryAccount, DoctorTarget } from './config.js';

/** What to do when the canary login is refused, by reason. */
const REFUSAL_HINTS: Readonly<Record<AuthFailureReason, string>> = {
  invalid_credentials:
    'no account with the canary identifier in the table, or its password is not the one in the canary password variable (the canary verifies bcrypt hashes)',
  account_disabled: "the canary account is disabled: set its account's active column to true",
  account_locked: 'the canary account is locked: clear its locked_until',
  rate_limited: 'the canary login was throttled: try again later',
  invalid_input: 'the canary identifier or password is empty or too long',
};

/** Options of {@link canaryCheck}. */
export interface CanaryCheckOptions {
  readonly timeoutMs: number;
  /** Where the library reports its own trouble (redacted by the caller). */
  readonly logger: Logger;
}

/**
 * A real login with the canary account through this provider alone, the way
 * the app logs in: `createResilientAuth` with one `pgProvider` on the same
 * table, columns and case sensitivity, no retries. Passes on `ok: true`;
 * otherwise names the reason or the failure kind. Never prints the identifier
 * or the password.
 */
export async function canaryCheck(
  target: DoctorTarget,
  canary: CanaryAccount | undefined,
  note: string | undefined,
  options: CanaryCheckOptions,
): Promise<Finding> {
  if (canary === undefined) {
    return skip(
      note ?? 'no canary account configured',
      note === undefined
        ? 'set RESILIENT_AUTH_CANARY_IDENTIFIER and RESILIENT_AUTH_CANARY_PASSWORD to log in with a test account'
        : undefined,
    );
  }
  let auth: ReturnType<typeof createResilientAuth> | undefined;
  try {
    auth = createResilientAuth({
      providers: [
        {
          provider: pgProvider({
            name: target.name,
            connectionString: target.connectionString,
            table:
              target.table.schema === undefined
                ? target.table.name
                : { schema: target.table.schema, name: target.table.name },
            ...(target.columns !== undefined && { columns: target.columns }),
            caseInsensitive: target.caseInsensitive,
            poolSize: 1,
            connectTimeoutMs: options.timeoutMs,
            statementTimeoutMs: options.timeoutMs,
          }),
          policy: { timeoutMs: options.timeoutMs + 500, retry: { maxAttempts: 1 } },
        },
      ],
      deadlineMs: options.timeoutMs * 2 + 1000,
      verifier: bcryptVerifier({ threads: 0 }),
      logger: options.logger,
    });
    const result = await auth.authenticate({
      identifier: canary.identifier,
      password: canary.password,
    });
    if (result.ok) {
      return pass(
        `logged in with the canary account${result.mustChangePassword ? ' (it must change its password)' : ''}`,
      );
    }
    return fail(`the canary login was refused: ${result.reason}`, REFUSAL_HINTS[result.reason]);
  } catch (error) {
    if (isAuthUnavailableError(error)) {
      const failure = error.failures[0];
      if (failure !== undefined) {
        return fail(
          `the canary login could not be decided: ${failure.kind}${failure.code === undefined ? '' : ` (${failure.code})`}: ${failure.message}`,
          failureHint(failure.kind),
        );
      }
    }
    return fail(`the canary login failed: ${safeMessage(error)}`, 'see the error above');
  } finally {
    await auth?.close();
  }
}
