import type { DoctorTarget } from './config.js';
import type { DoctorSession } from './session.js';

/** A column of the live table as pg_catalog shows it (which, unlike information_schema, shows columns the role cannot read). */
export interface CatalogColumn {
  readonly name: string;
  /** `quote_ident(name)`, for SQL in hints. */
  readonly sql: string;
  readonly canSelect: boolean;
}

/** The provider's table as pg_catalog shows it to the connected role. */
export type TableCatalog =
  | { readonly found: false; readonly role: string }
  | {
      readonly found: true;
      readonly role: string;
      readonly oid: string;
      readonly schema: string;
      /** The table for SQL in hints: schema-qualified only when the config qualified it. */
      readonly sql: string;
      readonly schemaUsage: boolean;
      readonly tableSelect: boolean;
      readonly columns: ReadonlyMap<string, CatalogColumn>;
    };

const TABLE_SQL = `SELECT c.oid::text AS oid, n.nspname AS schema, quote_ident(current_user) AS role,
  quote_ident(n.nspname) AS schema_sql, quote_ident(c.relname) AS table_sql,
  has_schema_privilege(n.oid, 'USAGE') AS schema_usage,
  has_table_privilege(c.oid, 'SELECT') AS table_select
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = COALESCE($1::text, current_schema()) AND c.relname = $2
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`;

const COLUMNS_SQL = `SELECT a.attname AS name, quote_ident(a.attname) AS sql,
  has_column_privilege(a.attrelid, a.attnum, 'SELECT') AS can_select
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`;

/** Finds the table the same way the providers do (`current_schema()` when unqualified) and reads its columns and privileges. */
export async function readTableCatalog(
  session: DoctorSession,
  target: DoctorTarget,
): Promise<TableCatalog> {
  const [table] = await session.query(TABLE_SQL, [target.table.schema ?? null, target.table.name]);
  if (table === undefined) {
    const [me] = await session.query('SELECT quote_ident(current_user) AS role');
    return { found: false, role: String(me?.role) };
  }
  const columns = await session.query(COLUMNS_SQL, [table.oid]);
  return {
    found: true,
    role: String(table.role),
    oid: String(table.oid),
    schema: String(table.schema),
    sql:
      target.table.schema === undefined
        ? String(table.table_sql)
        : `${String(table.schema_sql)}.${String(table.table_sql)}`,
    schemaUsage: table.schema_usage === true,
    tableSelect: table.table_select === true,
    columns: new Map(
      columns.map((c) => [
        String(c.name),
        { name: String(c.name), sql: String(c.sql), canSelect: c.can_select === true },
      ]),
    ),
  };
}
