import { ConfigError } from '../errors/errors.js';

/** A table, optionally schema-qualified. */
export interface TableName {
  /** `undefined`: the connection's `current_schema()`. */
  readonly schema: string | undefined;
  readonly name: string;
  /** Quoted for SQL: `"auth"."users"`. */
  readonly sql: string;
  /** For messages: `auth.users`. */
  readonly display: string;
}

/** Quotes an identifier for PostgreSQL: `users` → `"users"`, `a"b` → `"a""b"`. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Parses `users` or `auth.users` (or `{ schema, name }`) into a {@link TableName}. */
export function tableName(
  table: string | { readonly schema?: string; readonly name: string },
  option = 'table',
): TableName {
  const [schema, name] =
    typeof table === 'string'
      ? table.includes('.')
        ? (table.split('.', 2) as [string, string])
        : [undefined, table]
      : [table.schema, table.name];
  if (!name || schema === '' || (typeof table === 'string' && table.split('.').length > 2)) {
    throw new ConfigError(
      option,
      `expected "table" or "schema.table", got ${JSON.stringify(table)}`,
    );
  }
  return {
    schema,
    name,
    sql: schema === undefined ? quoteIdent(name) : `${quoteIdent(schema)}.${quoteIdent(name)}`,
    display: schema === undefined ? name : `${schema}.${name}`,
  };
}
