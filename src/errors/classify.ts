import type { FailureKind } from './errors.js';

/**
 * Failure classification shared by the retry policy and the SQL providers.
 * Transient: the same request may succeed if tried again soon. Everything else
 * (undefined table or column, bad password for the database, unknown database,
 * configuration errors) is permanent and fails over at once.
 */

const TRANSIENT_SQLSTATES = new Set(['53300', '57P01', '57P02', '57P03']);
const TRANSIENT_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
// pg-pool's message when every client is busy and none freed up in time.
const POOL_EXHAUSTED = 'timeout exceeded when trying to connect';
const TRANSIENT_MESSAGES = [
  POOL_EXHAUSTED,
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
];

/**
 * The most specific code an error carries: a PostgreSQL SQLSTATE (`sqlState`
 * first, then `code`) or a Node errno, looking inside `AggregateError`s (Node
 * reports a refused dual-stack connect that way) and along `cause`.
 */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const sqlState = (error as { sqlState?: unknown }).sqlState;
  if (typeof sqlState === 'string' && sqlState !== '') return sqlState;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code !== '') return code;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const innerCode = errorCode(inner);
      if (innerCode) return innerCode;
    }
  }
  const cause = (error as { cause?: unknown }).cause;
  return cause !== undefined && cause !== error ? errorCode(cause) : undefined;
}

/**
 * True when retrying soon may succeed: SQLSTATE class 08 (connection
 * exception), 53300 (too many connections), 57P01–57P03 (admin/crash shutdown,
 * cannot connect now), refused/reset/timed-out sockets, and pg's pool connect
 * timeout. 25006 (read-only standby) is not transient: a retry hits the same
 * standby.
 */
export function isTransientError(error: unknown): boolean {
  const code = errorCode(error);
  if (code !== undefined) {
    if (code.length === 5 && code.startsWith('08')) return true;
    if (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_ERRNOS.has(code)) return true;
  }
  const message = error instanceof Error ? error.message : '';
  return TRANSIENT_MESSAGES.some((m) => message.includes(m));
}

/** Sorts a failure into a {@link FailureKind} by its code and, for pg-pool, its message. */
export function failureKind(error: unknown): FailureKind {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : '';
  if (message.includes(POOL_EXHAUSTED)) return 'pool_exhausted';
  switch (code) {
    case 'CIRCUIT_OPEN':
      return 'circuit_open';
    case 'PROVIDER_TIMEOUT':
    case 'DEADLINE_EXCEEDED':
    case '57014':
      return 'timeout';
    case '25006':
      return 'read_only';
    case '3D000':
    case 'CONFIG_INVALID':
    case 'AMBIGUOUS_ACCOUNT':
      return 'configuration';
  }
  if (code?.startsWith('28')) return 'authentication';
  if (code?.startsWith('42')) return 'schema';
  if (message === 'Query read timeout') return 'timeout';
  return isTransientError(error) ? 'connection' : 'other';
}

const HINTS: Record<FailureKind, string> = {
  connection: 'check that the database is up and reachable from this host',
  pool_exhausted: 'every pooled connection is busy: find what holds them, or raise the pool size',
  timeout: 'the path is slow or hung: check the database load and the network',
  schema: 'the table or a column is missing: run the migration, or fix the table/columns mapping',
  authentication: "the database refused the app's credentials: check the user and password",
  read_only: 'connected to a read-only standby: point the provider at the primary',
  configuration: 'check the provider options and the data (database name, unique identifier)',
  circuit_open: 'skipped while its breaker is open; see its last failure in health()',
  other: 'see the error and its cause',
};

/** What an operator should look at first for a failure of this kind. */
export function failureHint(kind: FailureKind): string {
  return HINTS[kind];
}

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]*):[^@\s/]*@/gi;
const KEY_VALUE_PASSWORD = /\b(password|passwd|pwd)\s*=\s*('[^']*'|"[^"]*"|\S+)/gi;

/**
 * An error's message with credentials removed: passwords inside URLs
 * (`postgres://user:secret@host`) and `password=...` pairs become `***`.
 */
export function safeMessage(error: unknown): string {
  const raw =
    error instanceof Error
      ? error.message || error.name
      : typeof error === 'string'
        ? error
        : 'non-error value thrown';
  return raw.replace(URL_CREDENTIALS, '$1:***@').replace(KEY_VALUE_PASSWORD, '$1=***');
}
