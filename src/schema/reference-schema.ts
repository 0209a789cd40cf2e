import type { Queryable } from '../providers/queryable.js';
import { quoteIdent, tableName } from './table-name.js';
import type { ExpectedColumn } from './validate-schema.js';

/** The reference users table, column by column, for {@link validateSchema}. */
export const REFERENCE_COLUMNS: readonly ExpectedColumn[] = Object.freeze([
  { name: 'id', type: 'bigint', nullable: false },
  { name: 'email', type: 'text', nullable: false },
  { name: 'password_hash', type: 'text', nullable: false },
  { name: 'is_active', type: 'boolean', nullable: false },
  { name: 'must_change_password', type: 'boolean', nullable: false },
  { name: 'locked_until', type: 'timestamptz', nullable: true },
  { name: 'created_at', type: 'timestamptz', nullable: false },
]);

/** The reference schema's SQL for a table (default `users`): idempotent, with a case-insensitive unique index on the identifier. */
export function referenceSchemaSql(
  table: string | { readonly schema?: string; readonly name: string } = 'users',
): string {
  const t = tableName(table);
  const index = quoteIdent(`${t.name}_email_lower_key`);
  return `CREATE TABLE IF NOT EXISTS ${t.sql} (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL,
  password_hash text NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  must_change_password boolean NOT NULL DEFAULT false,
  locked_until timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS ${index} ON ${t.sql} (lower(email));`;
}

/**
 * Creates the reference users table and its case-insensitive unique index if
 * they do not exist. Safe to run on every start. For real deployments, put
 * {@link referenceSchemaSql} into your migration tool instead.
 *
 * @example
 * ```ts
 * await applyReferenceSchema(pool); // CREATE TABLE IF NOT EXISTS users (...)
 * ```
 */
export async function applyReferenceSchema(
  executor: Queryable,
  table: string | { readonly schema?: string; readonly name: string } = 'users',
): Promise<void> {
  for (const statement of referenceSchemaSql(table).split(';\n')) {
    await executor.query(statement);
  }
}
