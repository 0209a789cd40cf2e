/** One result row, keyed by column (or alias) name. */
export type Row = Record<string, unknown>;

/**
 * Just the part of a database client the SQL providers use: a `pg.Pool`, a
 * `pg.Client`, or anything with the same `query(text, values)`.
 */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ readonly rows: readonly Row[] }>;
}
