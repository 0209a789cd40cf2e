import { isBrokenCircuitError } from 'cockatiel';
import type { FailureKind } from './errors.js';

/**
 * What the library makes of an error, decided in one place: its code, its
 * kind, whether retrying soon may help, and its message with credentials
 * redacted. Code, kind and transience therefore always agree.
 */
export interface Classification {
  /** SQLSTATE, errno or library code when known (`42703`, `ECONNREFUSED`, `CIRCUIT_OPEN`...). */
  readonly code: string | undefined;
  /** What went wrong, in operator terms: see {@link FailureKind}. */
  readonly kind: FailureKind;
  /** True when the same request may succeed if tried again soon: kinds `connection` and `pool_exhausted`. */
  readonly transient: boolean;
  /** The error's message with credentials redacted. */
  readonly message: string;
}

// Class 08 (connection exception) is matched by prefix.
const CONNECTION_SQLSTATES = new Set(['53300', '57P01', '57P02', '57P03']);
const CONNECTION_ERRNOS = new Set([
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
const CONNECTION_MESSAGES = [
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
];
const KIND_BY_CODE: Readonly<Record<string, FailureKind>> = {
  CIRCUIT_OPEN: 'circuit_open',
  PROVIDER_TIMEOUT: 'timeout',
  DEADLINE_EXCEEDED: 'timeout',
  '57014': 'timeout',
  '25006': 'read_only',
  '3D000': 'configuration',
  CONFIG_INVALID: 'configuration',
  AMBIGUOUS_ACCOUNT: 'configuration',
  INVALID_ANSWER: 'configuration',
  OVERLOADED: 'overloaded',
};

/**
 * Classifies an error once: SQLSTATE class 08, 53300, 57P01–57P03 and
 * refused/reset/timed-out sockets are `connection` (transient); pg-pool's
 * "timeout exceeded when trying to connect" is `pool_exhausted` (transient);
 * 42xxx is `schema`, 28xxx `authentication`, 25006 `read_only` (a retry hits
 * the same standby), timeouts `timeout`, an open breaker `circuit_open`;
 * everything else is permanent.
 */
export function classify(error: unknown): Classification {
  const code = isBrokenCircuitError(error) ? 'CIRCUIT_OPEN' : findCode(error);
  const kind = kindOf(code, error instanceof Error ? error.message : '');
  return {
    code,
    kind,
    transient: kind === 'connection' || kind === 'pool_exhausted',
    message: safeMessage(error),
  };
}

function kindOf(code: string | undefined, message: string): FailureKind {
  if (message.includes(POOL_EXHAUSTED)) return 'pool_exhausted';
  if (code !== undefined) {
    const known = KIND_BY_CODE[code];
    if (known) return known;
    if (code.startsWith('28')) return 'authentication';
    if (code.startsWith('42')) return 'schema';
    if (CONNECTION_SQLSTATES.has(code) || CONNECTION_ERRNOS.has(code)) return 'connection';
    if (code.length === 5 && code.startsWith('08')) return 'connection';
  }
  if (message === 'Query read timeout') return 'timeout';
  return CONNECTION_MESSAGES.some((m) => message.includes(m)) ? 'connection' : 'other';
}

/**
 * The most specific code an error carries: a PostgreSQL SQLSTATE (`sqlState`
 * first, then `code`) or a Node errno, looking inside `AggregateError`s (Node
 * reports a refused dual-stack connect that way) and along `cause`.
 */
function findCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const sqlState = (error as { sqlState?: unknown }).sqlState;
  if (typeof sqlState === 'string' && sqlState !== '') return sqlState;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code !== '') return code;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const innerCode = findCode(inner);
      if (innerCode) return innerCode;
    }
  }
  const cause = (error as { cause?: unknown }).cause;
  return cause !== undefined && cause !== error ? findCode(cause) : undefined;
}

/** The code of {@link classify}: SQLSTATE, errno or library code, when the error carries one. */
export function errorCode(error: unknown): string | undefined {
  return classify(error).code;
}

/** The kind of {@link classify}: see {@link FailureKind}. */
export function failureKind(error: unknown): FailureKind {
  return classify(error).kind;
}

/** True when {@link classify} finds a retry may succeed (kinds `connection` and `pool_exhausted`). */
export function isTransientError(error: unknown): boolean {
  return classify(error).transient;
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
  overloaded:
    'more logins than the verifier threads can check in time: scale out, add threads, or throttle',
  other: 'see the error and its cause',
};

/** What an operator should look at first for a failure of this kind. */
export function failureHint(kind: FailureKind): string {
  return HINTS[kind];
}

/**
 * Node reports a refused dual-stack connect as an AggregateError with an
 * empty message: its inner errors name the addresses (`connect ECONNREFUSED
 * 127.0.0.1:5432`), which is what an operator needs.
 */
function innerMessages(error: Error): string {
  if (!(error instanceof AggregateError)) return '';
  return error.errors
    .map((inner: unknown) => (inner instanceof Error ? inner.message : ''))
    .filter(Boolean)
    .join('; ');
}

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]*):[^@\s/]*@/gi;
const KEY_VALUE_PASSWORD = /\b(password|passwd|pwd)\s*=\s*('[^']*'|"[^"]*"|\S+)/gi;
// bcrypt ($2a$10$...) and PHC strings ($argon2id$v=19$m=...$salt$digest, $scrypt$...,
// $pbkdf2-sha256$...): an ORM error quoting its query parameters quotes them too.
const PASSWORD_HASH =
  /\$2[abxy]\$\d{2}\$[./A-Za-z0-9]{1,53}|\$(argon2(id|i|d)|scrypt|pbkdf2[\w-]*)\$[^\s'"`)]+/g;

/**
 * An error's message with credentials removed: passwords inside URLs
 * (`postgres://user:secret@host`) and `password=...` pairs become `***`, and
 * password hashes (bcrypt, argon2 and other PHC strings) `[hash]`.
 */
export function safeMessage(error: unknown): string {
  const raw =
    error instanceof Error
      ? error.message || innerMessages(error) || error.name
      : typeof error === 'string'
        ? error
        : 'non-error value thrown';
  return raw
    .replace(URL_CREDENTIALS, '$1:***@')
    .replace(KEY_VALUE_PASSWORD, '$1=***')
    .replace(PASSWORD_HASH, '[hash]');
}
