import type { AttemptEvent, RequestContext, UnavailableEvent } from '../hooks/events.js';
import type { TableName } from '../schema/table-name.js';
import { AUDIT_COLUMNS } from './audit-schema.js';

/** What one attempt's row says: `authenticated`, `rejected` (see `cause`) or `unavailable`. */
export type AuditOutcome = 'authenticated' | 'rejected' | 'unavailable';

/** One row's values, in the order of {@link AUDIT_COLUMNS}. */
export type AuditRow = readonly [
  at: Date,
  outcome: AuditOutcome,
  cause: string | null,
  identifier: string | null,
  provider: string | null,
  degraded: boolean,
  ip: string | null,
  userAgent: string | null,
  requestId: string | null,
  durationMs: number | null,
];

// PostgreSQL text cannot hold NUL: one such character from a request header
// would make every retry of its batch fail.
function text(value: unknown): string | null {
  return typeof value === 'string' ? value.replaceAll('\u0000', '\uFFFD') : null;
}

function contextColumns(context: RequestContext | undefined) {
  return [text(context?.ip), text(context?.userAgent), text(context?.requestId)] as const;
}

function duration(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * The row of a finished attempt (authenticated or rejected). `identifier` is
 * what to store for `event.identifier` (as given, or hashed).
 */
export function attemptRow(event: AttemptEvent, at: Date, identifier: string | null): AuditRow {
  return [
    at,
    event.outcome,
    event.outcome === 'rejected' ? text(event.cause) : null,
    text(identifier),
    text(event.provider),
    event.degraded === true,
    ...contextColumns(event.context),
    duration(event.durationMs),
  ];
}

/**
 * The row of an attempt no provider could answer: the cause is the kind of
 * the last failure (`connection`, `timeout`, `overloaded`...), the provider
 * that failure's.
 */
export function unavailableRow(
  event: UnavailableEvent,
  at: Date,
  identifier: string | null,
): AuditRow {
  const last = event.failures.at(-1);
  return [
    at,
    'unavailable',
    text(last?.kind),
    text(identifier),
    text(last?.provider),
    false,
    ...contextColumns(event.context),
    duration(event.durationMs),
  ];
}

/** One multi-row INSERT of `rows`: atomic, so a failed one is retried whole. Values are parameters. */
export function insertStatement(
  table: TableName,
  rows: readonly AuditRow[],
): { text: string; values: unknown[] } {
  const width = AUDIT_COLUMNS.length;
  const tuples = rows.map(
    (_, r) => `(${AUDIT_COLUMNS.map((_, c) => `$${r * width + c + 1}`).join(', ')})`,
  );
  return {
    text: `INSERT INTO ${table.sql} (${AUDIT_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`,
    values: rows.flat(),
  };
}
