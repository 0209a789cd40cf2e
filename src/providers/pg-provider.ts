import { createHash } from 'node:crypto';
import pg from 'pg';
import { parse } from 'pg-connection-string';
import { ConfigError } from '../errors/errors.js';
import { tableName } from '../schema/table-name.js';
import type { ColumnMapping } from './columns.js';
import type { Account, AuthProvider, AuthUser } from './provider.js';
import type { Queryable, Row } from './queryable.js';
import { TableLookup } from './table-lookup.js';

/**
 * pg pool options (host, port, user, password, database, ssl, and the rest of
 * `pg.PoolConfig`) except the ones this provider manages itself: size and
 * timeouts have options of their own, and the connection string has its own.
 */
export type PgPoolOptions = Omit<
  pg.PoolConfig,
  'max' | 'connectionTimeoutMillis' | 'statement_timeout' | 'query_timeout' | 'connectionString'
>;

/** Options of {@link pgProvider}. Give `connectionString`, `pool` options, or both (e.g. a string and `ssl`). */
export interface PgProviderOptions {
  /** Default: `'pg'`. */
  readonly name?: string;
  /** `postgres://user:password@host:5432/db`. Parsed at once; the password is kept out of enumerable properties. */
  readonly connectionString?: string;
  /** pg pool options; connection fields of `connectionString` take precedence. */
  readonly pool?: PgPoolOptions;
  /** `'users'` or `'schema.users'`. */
  readonly table: string | { readonly schema?: string; readonly name: string };
  /** Default: the reference schema's names. */
  readonly columns?: ColumnMapping;
  /** Default: `true`. */
  readonly caseInsensitive?: boolean;
  /** Connections of this provider's own pool. Default: `2`. */
  readonly poolSize?: number;
  /** Bound on getting a connection (new or from the pool). Default: `1000`. */
  readonly connectTimeoutMs?: number;
  /** Server-side `statement_timeout`; the client gives up 500 ms later if the server says nothing. Default: `1000`. */
  readonly statementTimeoutMs?: number;
  /** Called when an idle connection errors (a server restart, say). Default: ignored, the pool drops it. */
  readonly onIdleError?: (error: Error) => void;
}

/** A {@link pgProvider} with its pool's counts, for dashboards and leak checks. */
export interface PgProvider<U = AuthUser> extends AuthProvider<U> {
  /** Ends the provider's pool. Called by `auth.close()`. */
  close(): Promise<void>;
  /** `{ total, idle, waiting }` of the provider's own pool; zeros before first use and after close. */
  poolStats(): { readonly total: number; readonly idle: number; readonly waiting: number };
}

/**
 * A direct path to PostgreSQL on a small pool of its own, independent of the
 * application's pool (created on first use, closed by `auth.close()`): connect,
 * statement and query timeouts set, keepAlive on, idle errors listened to,
 * a client discarded after any error, and a prepared statement with an
 * explicit column list planned against information_schema.
 *
 * @example
 * ```ts
 * const direct = pgProvider({ connectionString: process.env.AUTH_DATABASE_URL!, table: 'users' });
 * ```
 */
export function pgProvider<U = AuthUser>(options: PgProviderOptions): PgProvider<U> {
  const connection = connectionConfig(options);
  const poolSize = options.poolSize ?? 2;
  const connectTimeoutMs = options.connectTimeoutMs ?? 1000;
  const statementTimeoutMs = options.statementTimeoutMs ?? 1000;
  let pool: pg.Pool | undefined;
  let closed = false;

  const poolFor = (): pg.Pool => {
    if (closed) throw new ConfigError('pgProvider', 'used after close()');
    if (!pool) {
      pool = new pg.Pool({
        keepAlive: true,
        idleTimeoutMillis: 30_000,
        allowExitOnIdle: true,
        application_name: 'resilient-auth',
        ...connection,
        max: poolSize,
        connectionTimeoutMillis: connectTimeoutMs,
        statement_timeout: statementTimeoutMs,
        query_timeout: statementTimeoutMs + 500,
      });
      // Without a listener, an idle client's error (server restart) crashes the process.
      pool.on('error', (error) => options.onIdleError?.(error));
    }
    return pool;
  };

  /** Runs one statement on a pooled client, discarding the client after any error or abandonment. */
  const withClient = async (
    signal: AbortSignal | undefined,
    run: (client: pg.PoolClient) => Promise<readonly Row[]>,
  ) => {
    signal?.throwIfAborted();
    const client = await poolFor().connect();
    if (signal?.aborted) {
      // The caller gave up while this waited for a connection: no query for nobody.
      client.release();
      signal.throwIfAborted();
    }
    // A checked-out client whose connection dies emits 'error'; unheard, that
    // would crash the process. The query's own rejection reports it.
    const ignore = () => undefined;
    client.on('error', ignore);
    let discard = false;
    try {
      return await run(client);
    } catch (error) {
      discard = true;
      throw error;
    } finally {
      client.off('error', ignore);
      // An abandoned call (timed out by the orchestrator) may have left the client mid-protocol.
      client.release(discard || signal?.aborted === true);
    }
  };

  const introspector: Queryable = {
    query: async (text, values) => ({
      rows: await withClient(undefined, async (c) => (await c.query(text, values)).rows),
    }),
  };
  const lookup = new TableLookup(
    tableName(options.table),
    options.columns,
    options.caseInsensitive ?? true,
    introspector,
    (plan, identifier, signal) =>
      withClient(signal, async (client) => {
        const query = { name: statementName(plan.text), text: plan.text, values: [identifier] };
        return (await client.query(query)).rows;
      }),
  );

  return {
    name: options.name ?? 'pg',
    findAccount: (identifier, ctx) =>
      lookup.findAccount(identifier, ctx) as Promise<Account<U> | null>,
    // Reading information_schema proves the connection and the table at once.
    check: (ctx) => lookup.check(ctx),
    async close() {
      closed = true;
      const ending = pool;
      pool = undefined;
      await ending?.end();
    },
    poolStats() {
      return {
        total: pool?.totalCount ?? 0,
        idle: pool?.idleCount ?? 0,
        waiting: pool?.waitingCount ?? 0,
      };
    },
  };
}

const statementNames = new Map<string, string>();

/** A prepared statement's name, derived from its text so a re-planned query gets a new one. */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `resilient_auth_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
    statementNames.set(text, name);
  }
  return name;
}

function connectionConfig(options: PgProviderOptions): pg.PoolConfig {
  if (options.connectionString === undefined && options.pool === undefined) {
    throw new ConfigError('pgProvider', 'give connectionString or pool options');
  }
  if (options.connectionString === undefined) return { ...options.pool };
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(options.connectionString);
  } catch {
    // The string itself may hold a password: never echo it.
    throw new ConfigError(
      'pgProvider.connectionString',
      'is not a valid PostgreSQL connection string',
    );
  }
  // Passed as separate fields so pg-pool keeps the password non-enumerable.
  const { host, port, user, password, database, ssl } = parsed;
  return {
    ...options.pool,
    ...(host ? { host } : {}),
    ...(port ? { port: Number(port) } : {}),
    ...(user ? { user } : {}),
    ...(password ? { password } : {}),
    ...(database ? { database } : {}),
    ...(ssl !== undefined && ssl !== null ? { ssl: ssl as pg.ClientConfig['ssl'] } : {}),
  };
}
