/** The doctor's checks, in the order they run for each provider. */
export const CHECK_NAMES = [
  'connect',
  'privileges',
  'schema',
  'index',
  'writable',
  'canary',
] as const;

/** One of {@link CHECK_NAMES}. */
export type CheckName = (typeof CHECK_NAMES)[number];

/** `skip`: not run, because it is not configured or an earlier check failed; it fails nothing by itself. */
export type CheckStatus = 'pass' | 'fail' | 'skip';

/** One line of the doctor's report. Messages never hold a password or a connection string. */
export interface CheckResult {
  readonly provider: string;
  readonly check: CheckName;
  readonly status: CheckStatus;
  /** What was found, naming table, column, index or role. */
  readonly message: string;
  /** What to do next; on failures and on skips that need something done. */
  readonly hint?: string;
  readonly durationMs: number;
}

/** What a check finds, before the provider name and the time are added. */
export interface Finding {
  readonly status: CheckStatus;
  readonly message: string;
  readonly hint?: string;
}

/** A passing finding. */
export const pass = (message: string): Finding => ({ status: 'pass', message });

/** A failing finding; the hint says what to do. */
export const fail = (message: string, hint: string): Finding => ({ status: 'fail', message, hint });

/** A check not run. */
export const skip = (message: string, hint?: string): Finding => ({
  status: 'skip',
  message,
  ...(hint !== undefined && { hint }),
});
