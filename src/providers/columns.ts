import { ConfigError, SchemaMismatchError } from '../errors/errors.js';
import type { LiveColumn } from '../schema/introspect.js';
import { quoteIdent, type TableName } from '../schema/table-name.js';
import type { Account, ProviderNotice } from './provider.js';
import type { Row } from './queryable.js';

/**
 * Which column holds what. Keys other than the six below are extra user
 * fields: `{ displayName: 'display_name' }` puts that column into `user.displayName`.
 * Defaults match the reference schema.
 */
export interface ColumnMapping {
  /** Required. Default: `'id'`. */
  readonly id?: string;
  /** Required; what users type to log in. Default: `'email'`. */
  readonly identifier?: string;
  /** Required. Default: `'password_hash'`. */
  readonly passwordHash?: string;
  /** Optional; when the column is missing every account counts as active. Default: `'is_active'`. */
  readonly active?: string;
  /** Optional; missing means `false`. Default: `'must_change_password'`. */
  readonly mustChangePassword?: string;
  /** Optional; missing means not locked. Default: `'locked_until'`. */
  readonly lockedUntil?: string;
  /** Extra user fields (optional columns). */
  readonly [userField: string]: string | undefined;
}

/** The reference schema's column names. */
export const DEFAULT_COLUMNS = Object.freeze({
  id: 'id',
  identifier: 'email',
  passwordHash: 'password_hash',
  active: 'is_active',
  mustChangePassword: 'must_change_password',
  lockedUntil: 'locked_until',
});

const REQUIRED = ['id', 'identifier', 'passwordHash'] as const;
const ACCOUNT_FIELDS = new Set<string>(Object.keys(DEFAULT_COLUMNS));

interface Field {
  readonly field: string;
  readonly column: string;
}

/** A lookup query built against the live table. */
export interface LookupPlan {
  readonly text: string;
  /** Fields actually selected (each aliased to its field name). */
  readonly fields: readonly Field[];
  /** The identifier column name, which is the user field the identifier goes into. */
  readonly identifierColumn: string;
  /** Optional fields left out because their column does not exist. */
  readonly missing: readonly Field[];
}

/** Fills in the defaults and checks the mapping's shape. */
export function resolveColumns(mapping: ColumnMapping | undefined): readonly Field[] {
  const merged: Record<string, string | undefined> = { ...DEFAULT_COLUMNS, ...mapping };
  return Object.entries(merged).map(([field, column]) => {
    if (typeof column !== 'string' || column === '') {
      throw new ConfigError(`columns.${field}`, 'must be a non-empty column name');
    }
    return { field, column };
  });
}

/**
 * Builds the lookup for this live table: an explicit column list (never
 * `SELECT *`), identifiers quoted, the identifier as parameter `$1`. Fails
 * fast with a {@link SchemaMismatchError} naming the table and column when a
 * required column (or the table) is missing; leaves missing optional columns out.
 */
export function planLookup(
  table: TableName,
  fields: readonly Field[],
  live: readonly LiveColumn[],
  caseInsensitive: boolean,
): LookupPlan {
  if (live.length === 0) {
    throw new SchemaMismatchError(
      table.display,
      undefined,
      `table ${table.display} does not exist (or this role cannot see it): create it (see applyReferenceSchema) or point "table" at the right one`,
    );
  }
  const present = new Set(live.map((c) => c.name));
  const selected: Field[] = [];
  const missing: Field[] = [];
  for (const f of fields) {
    if (present.has(f.column)) {
      selected.push(f);
    } else if ((REQUIRED as readonly string[]).includes(f.field)) {
      throw new SchemaMismatchError(
        table.display,
        f.column,
        `table ${table.display} has no column "${f.column}" (required for ${f.field}): add it, or map ${f.field} to the right column with columns: { ${f.field}: '...' }`,
      );
    } else {
      missing.push(f);
    }
  }
  const identifier = fields.find((f) => f.field === 'identifier')!.column;
  const list = selected.map((f) => `${quoteIdent(f.column)} AS ${quoteIdent(f.field)}`).join(', ');
  const match = caseInsensitive
    ? `lower(${quoteIdent(identifier)}) = lower($1)`
    : `${quoteIdent(identifier)} = $1`;
  // LIMIT 2: two matches means the identifier is ambiguous, and neither may decide.
  return {
    text: `SELECT ${list} FROM ${table.sql} WHERE ${match} LIMIT 2`,
    fields: selected,
    identifierColumn: identifier,
    missing,
  };
}

/** The notice a plan with missing optional columns deserves. */
export function driftNotice(table: TableName, plan: LookupPlan): ProviderNotice {
  const list = plan.missing.map((m) => `"${m.column}" (${m.field})`).join(', ');
  return {
    type: 'schema_drift',
    table: table.display,
    missingColumns: plan.missing,
    message: `table ${table.display} lacks optional column(s) ${list}; left out of the lookup`,
  };
}

/**
 * The user columns of one row, as a SQL provider's `toUser` receives them:
 * `id`, the identifier under its column name (`email` by default), and every
 * extra field of the column mapping under its field name. Values are as pg
 * returns them (a `bigint` id is a string, say).
 */
export type UserRow = Readonly<Record<string, unknown>>;

/** Maps one result row to an account, applying the documented defaults for missing optional columns. */
export function rowToAccount<U>(
  row: Row,
  plan: LookupPlan,
  toUser: (row: UserRow) => U,
): Account<U> {
  const user: Record<string, unknown> = { id: row.id, [plan.identifierColumn]: row.identifier };
  for (const { field } of plan.fields) {
    if (!ACCOUNT_FIELDS.has(field)) user[field] = row[field];
  }
  return {
    user: toUser(user),
    // Anything but a string (a NULL, say) is a malformed hash: the orchestrator denies and alerts.
    passwordHash: typeof row.passwordHash === 'string' ? row.passwordHash : '',
    active: 'active' in row ? row.active === true : true,
    mustChangePassword: row.mustChangePassword === true,
    lockedUntil: toDate(row.lockedUntil),
  };
}

/** A lock column's value as a date; one that is not a valid date stays invalid, which locks (fail closed). */
function toDate(value: unknown): Date | null {
  if (value === undefined || value === null) return null;
  return value instanceof Date ? value : new Date(String(value));
}
