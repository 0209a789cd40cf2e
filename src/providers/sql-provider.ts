import { tableName } from '../schema/table-name.js';
import type { ColumnMapping } from './columns.js';
import type { Account, AuthProvider, AuthUser } from './provider.js';
import type { Queryable } from './queryable.js';
import { TableLookup } from './table-lookup.js';

/** Options of {@link sqlProvider}. */
export interface SqlProviderOptions {
  /** Default: `'sql'`. */
  readonly name?: string;
  /** A `pg.Pool` or `pg.Client` the app already has, or anything with `query(text, values)`. */
  readonly executor: Queryable;
  /** `'users'` or `'schema.users'`. */
  readonly table: string | { readonly schema?: string; readonly name: string };
  /** Default: the reference schema's names. */
  readonly columns?: ColumnMapping;
  /** Match with `lower(column) = lower($1)`. Default: `true`. */
  readonly caseInsensitive?: boolean;
}

/**
 * Raw SQL through a connection the application already has, bypassing the
 * ORM: when the ORM's model drifts from the database, this path reads what the
 * database really has (information_schema), leaves out optional columns that
 * are missing and says so through `onSchemaDrift`.
 *
 * @example
 * ```ts
 * const raw = sqlProvider({ name: 'raw-sql', executor: appPool, table: 'users' });
 * ```
 */
export function sqlProvider<U = AuthUser>(options: SqlProviderOptions): AuthProvider<U> {
  const { executor } = options;
  const lookup = new TableLookup(
    tableName(options.table),
    options.columns,
    options.caseInsensitive ?? true,
    executor,
    async (plan, identifier) => (await executor.query(plan.text, [identifier])).rows,
  );
  return {
    name: options.name ?? 'sql',
    findAccount: (identifier, ctx) =>
      lookup.findAccount(identifier, ctx) as Promise<Account<U> | null>,
    // Reading information_schema proves the connection and the table at once.
    check: (ctx) => lookup.check(ctx),
  };
}
