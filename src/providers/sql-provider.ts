import type { UserRow } from './columns.js';
import type { AuthProvider, AuthUser } from './provider.js';
import type { Queryable } from './queryable.js';
import { type TableOptions, tableProvider } from './table-lookup.js';

/** Options of {@link sqlProvider}. */
export interface SqlProviderOptions<U = AuthUser> extends TableOptions<U> {
  /** Default: `'sql'`. */
  readonly name?: string;
  /** A `pg.Pool` or `pg.Client` the app already has, or anything with `query(text, values)`. */
  readonly executor: Queryable;
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
 * // With a user type of your own:
 * const typed = sqlProvider({
 *   executor: appPool,
 *   table: 'users',
 *   toUser: (row) => ({ id: Number(row.id), email: String(row.email) }),
 * });
 * ```
 *
 * With `toUser`, the user type is what it returns; without it, `user` is the
 * row as a plain record ({@link AuthUser}).
 */
export function sqlProvider<U>(
  options: SqlProviderOptions<U> & { readonly toUser: (row: UserRow) => U },
): AuthProvider<U>;
export function sqlProvider(options: SqlProviderOptions<AuthUser>): AuthProvider<AuthUser>;
export function sqlProvider<U>(options: SqlProviderOptions<U>): AuthProvider<U> {
  const { executor } = options;
  return tableProvider(options.name ?? 'sql', options, {
    introspector: executor,
    run: async (plan, identifier) => (await executor.query(plan.text, [identifier])).rows,
  });
}
