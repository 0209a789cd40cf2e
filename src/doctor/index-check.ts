import { quoteIdent } from '../schema/table-name.js';
import { type Finding, fail, pass, skip } from './check-result.js';
import type { DoctorTarget } from './config.js';
import type { DoctorSession } from './session.js';
import type { TableCatalog } from './table-catalog.js';

const INDEXES_SQL = `SELECT ic.relname AS name, i.indisunique AS is_unique, i.indisvalid AS is_valid,
  i.indpred IS NOT NULL AS is_partial, pg_get_indexdef(i.indexrelid, 1, true) AS leading_key
FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
WHERE i.indrelid = $1::oid
ORDER BY i.indisunique DESC, ic.relname`;

interface IndexRow {
  readonly name: string;
  readonly unique: boolean;
  readonly usable: boolean;
  readonly leadingKey: string;
}

/**
 * Is there an index the lookup can use: valid, not partial, its leading key
 * the identifier column, or `lower(column)` when lookups are
 * case-insensitive (the providers match `lower(col) = lower($1)` then, which
 * a plain index on the column cannot serve)? Says which CREATE INDEX to run.
 */
export async function indexCheck(
  session: DoctorSession,
  target: DoctorTarget,
  catalog: TableCatalog,
): Promise<Finding> {
  const identifier = target.fields.find((f) => f.field === 'identifier')?.column ?? 'email';
  if (!catalog.found) {
    return skip(`table ${target.table.display} not found: see the schema check`);
  }
  const column = catalog.columns.get(identifier);
  if (column === undefined) {
    return skip(
      `identifier column ${target.table.display}.${identifier} missing: see the schema check`,
    );
  }
  const rows = await session.query(INDEXES_SQL, [catalog.oid]);
  const indexes: IndexRow[] = rows.map((r) => ({
    name: String(r.name),
    unique: r.is_unique === true,
    usable: r.is_valid === true && r.is_partial !== true,
    leadingKey: String(r.leading_key),
  }));
  const plain = (i: IndexRow) => i.leadingKey === column.sql;
  // A varchar column's index shows with a cast: lower(email::text).
  const loweredKeys = new Set(
    [column.sql, `${column.sql}::text`, `(${column.sql})::text`].map((key) => `lower(${key})`),
  );
  const lowered = (i: IndexRow) => loweredKeys.has(i.leadingKey);
  const wanted = target.caseInsensitive ? lowered : plain;
  const key = target.caseInsensitive ? `lower(${column.sql})` : column.sql;
  const display = target.table.display;
  const lookup = target.caseInsensitive
    ? `lookups match lower(${identifier}) = lower($1) (caseInsensitive)`
    : `lookups match ${identifier} = $1 (caseInsensitive: false)`;
  const create = `CREATE UNIQUE INDEX CONCURRENTLY ${indexName(target, identifier)} ON ${catalog.sql} (${key});`;

  const good = indexes.find((i) => i.usable && wanted(i));
  if (good !== undefined) {
    return pass(
      good.unique
        ? `unique index ${good.name} on ${display} (${good.leadingKey}) serves the lookup`
        : `index ${good.name} on ${display} (${good.leadingKey}) serves the lookup; it is not unique, so two accounts with one identifier would both be refused (AMBIGUOUS_ACCOUNT)`,
    );
  }
  const broken = indexes.find((i) => !i.usable && wanted(i));
  if (broken !== undefined) {
    return fail(
      `index ${broken.name} on ${display} (${broken.leadingKey}) cannot serve the lookup: it is invalid (a failed CREATE INDEX CONCURRENTLY?) or partial`,
      `REINDEX INDEX CONCURRENTLY ${quoteIfNeeded(broken.name)}; or ${create}`,
    );
  }
  const other = indexes.find((i) => i.usable && (target.caseInsensitive ? plain(i) : lowered(i)));
  if (other !== undefined) {
    return fail(
      `index ${other.name} on ${display} is on ${other.leadingKey}, but ${lookup}: it cannot serve them, and every login scans the table`,
      target.caseInsensitive
        ? `${create} (or set caseInsensitive: false if identifiers are stored lower-cased and typed exactly)`
        : create,
    );
  }
  return fail(
    `no index on ${display} whose leading key is ${key}; ${lookup}, so every login scans the table`,
    create,
  );
}

/** `users_email_lower_key`, as the reference schema names it. */
function indexName(target: DoctorTarget, identifier: string): string {
  const name = `${target.table.name}_${identifier}${target.caseInsensitive ? '_lower' : ''}_key`;
  return quoteIfNeeded(name);
}

function quoteIfNeeded(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : quoteIdent(name);
}
