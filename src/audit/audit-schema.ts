import { quoteIdent, type TableName, tableName } from '../schema/table-name.js';

/** Where {@link auditSink} writes, and what {@link auditSchemaSql} creates. */
export type AuditTable = string | { readonly schema?: string; readonly name: string };

/** The table {@link auditSink} writes to unless told otherwise. */
export const DEFAULT_AUDIT_TABLE = 'login_history';

/** The columns {@link auditSink} fills, in the order of its INSERT (the id is the table's own). */
export const AUDIT_COLUMNS = Object.freeze([
  'at',
  'outcome',
  'cause',
  'identifier',
  'provider',
  'degraded',
  'ip',
  'user_agent',
  'request_id',
  'duration_ms',
] as const);

/** Options of {@link auditSchemaSql}. */
export interface AuditSchemaOptions {
  /** `'login_history'` or `'schema.login_history'`. Default: `'login_history'`. */
  readonly table?: AuditTable;
}

/** The audit table's name, validated and quoted; a bad one throws `ConfigError` naming `option`. */
export function auditTableName(table: AuditTable | undefined, option: string): TableName {
  return tableName(table ?? DEFAULT_AUDIT_TABLE, option);
}

/**
 * The DDL of the table {@link auditSink} writes to: idempotent
 * (`CREATE ... IF NOT EXISTS`), with an index on `(identifier, at)` for "the
 * attempts on this account" and one on `at` for time ranges and retention.
 * Text columns carry no length or format limit (the request context is the
 * app's, and may hold anything), and nothing is NOT NULL that an attempt may
 * lack (invalid input has no identifier; an unknown identifier no provider's
 * account).
 *
 * @example
 * ```ts
 * await pool.query(auditSchemaSql()); // or put it into your migration tool
 * await pool.query(auditSchemaSql({ table: 'audit.login_history' }));
 * ```
 */
export function auditSchemaSql(options: AuditSchemaOptions = {}): string {
  const t = auditTableName(options.table, 'table');
  const index = (suffix: string) => quoteIdent(`${t.name}_${suffix}`);
  return `CREATE TABLE IF NOT EXISTS ${t.sql} (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  outcome text NOT NULL,
  cause text,
  identifier text,
  provider text,
  degraded boolean NOT NULL DEFAULT false,
  ip text,
  user_agent text,
  request_id text,
  duration_ms double precision
);
CREATE INDEX IF NOT EXISTS ${index('identifier_at_idx')} ON ${t.sql} (identifier, at);
CREATE INDEX IF NOT EXISTS ${index('at_idx')} ON ${t.sql} (at);`;
}
