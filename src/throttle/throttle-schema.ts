import { DEFAULT_THROTTLE, throttleTable } from './throttle-options.js';

/**
 * The DDL of the throttle's PostgreSQL table, for a migration when the
 * library must not create it (`store: { type: 'postgres', pool, createTable:
 * false }`). The table is RateLimiterPostgres's: one row per counter key,
 * which is a digest, never an identifier or an address.
 *
 * @example
 * ```ts
 * await migrationClient.query(throttleSchemaSql({ tableName: 'auth.login_throttle' }));
 * ```
 */
export function throttleSchemaSql(options: { readonly tableName?: string } = {}): string {
  const table = throttleTable(options.tableName ?? DEFAULT_THROTTLE.tableName, 'tableName');
  return `CREATE TABLE IF NOT EXISTS ${table.sql} (
  key varchar(255) PRIMARY KEY,
  points integer NOT NULL DEFAULT 0,
  expire bigint
);`;
}
