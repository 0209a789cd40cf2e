import { createRequire } from 'node:module';
import { ConfigError } from '../errors/errors.js';
import type { Row } from './queryable.js';

/** Just the parts of a `pg.PoolClient` that {@link pgProvider} uses. */
export interface PgClient {
  query(
    config: string | { readonly name: string; readonly text: string; readonly values: unknown[] },
    values?: unknown[],
  ): Promise<{ readonly rows: Row[] }>;
  release(destroy?: boolean): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
}

/** Just the parts of a `pg.Pool` that {@link pgProvider} uses. */
export interface PgPool {
  connect(): Promise<PgClient>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  end(): Promise<void>;
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
}

/** What {@link loadPg} finds: pg's Pool and the connection-string parser pg itself uses. */
export interface PgDriver {
  readonly Pool: new (config: Readonly<Record<string, unknown>>) => PgPool;
  readonly parse: (connectionString: string) => Readonly<Record<string, unknown>>;
}

/**
 * A connection string as separate pool fields, not a string, so pg-pool
 * keeps the password non-enumerable; every parameter is kept (options=-c
 * search_path=..., application_name, ...), empty ones dropped, the port a
 * number. `undefined` when it cannot be parsed: pg's message may quote the
 * string, password and all, so callers say so in their own words.
 */
export function connectionFields(
  parse: PgDriver['parse'],
  connectionString: string,
): Readonly<Record<string, unknown>> | undefined {
  let parsed: Readonly<Record<string, unknown>>;
  try {
    parsed = parse(connectionString);
  } catch {
    return undefined;
  }
  const fields = Object.fromEntries(
    Object.entries(parsed).filter(
      ([, value]) => value !== undefined && value !== null && value !== '',
    ),
  );
  return fields.port === undefined ? fields : { ...fields, port: Number(fields.port) };
}

let driver: PgDriver | undefined;

/**
 * Loads `pg`, an optional peer dependency, on the first `pgProvider()` call:
 * the app's own copy, so users of the other providers install nothing. The
 * connection-string parser is pg's own dependency, resolved from pg.
 */
export function loadPg(): PgDriver {
  if (driver) return driver;
  const load = createRequire(import.meta.url);
  let Pool: PgDriver['Pool'];
  let pgPath: string;
  try {
    pgPath = load.resolve('pg');
    Pool = (load(pgPath) as { Pool: PgDriver['Pool'] }).Pool;
  } catch (error) {
    throw new ConfigError(
      'pgProvider',
      "needs the 'pg' package, an optional peer dependency of resilient-auth: npm install pg",
      { cause: error },
    );
  }
  const parse = createRequire(pgPath)('pg-connection-string') as PgDriver['parse'];
  driver = { Pool, parse };
  return driver;
}
