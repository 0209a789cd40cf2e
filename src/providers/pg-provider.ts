import { createHash } from 'node:crypto';
import { ConfigError, ResilientAuthError } from '../errors/errors.js';
import type { UserRow } from './columns.js';
import { connectionFields, loadPg, type PgClient, type PgPool } from './pg-driver.js';
import type { AuthProvider, AuthUser } from './provider.js';
import type { Queryable, Row } from './queryable.js';
import { type TableOptions, tableProvider } from './table-lookup.js';

/**
 * pg pool options (host, port, user, password, database, ssl, and the rest of
 * pg's `PoolConfig`, passed through) except the ones this provider manages
 * itself: size and timeouts have options of their own, and so has the
 * connection string.
 */
export interface PgPoolOptions {
  readonly host?: string;
  readonly port?: number;
  readonly user?: string;
  /** Kept out of enumerable properties by pg-pool. */
  readonly password?: string;
  readonly database?: string;
  /** `true`, or node's TLS options (`{ ca, rejectUnauthorized, ... }`). */
  readonly ssl?: boolean | Readonly<Record<string, unknown>>;
  /** Default: `30000`. */
  readonly idleTimeoutMillis?: number;
  /** Default: `'resilient-auth'`. */
  readonly application_name?: string;
  /** Any other pg pool option, passed through as is. */
  readonly [option: string]: unknown;
}

/** pg options that pgProvider sets itself, and the option of its own to use instead. */
const MANAGED: Readonly<Record<string, string>> = {
  max: 'poolSize',
  connectionTimeoutMillis: 'connectTimeoutMs',
  statement_timeout: 'statementTimeoutMs',
  query_timeout: 'statementTimeoutMs',
  connectionString: 'connectionString',
};

/** Options of {@link pgProvider}. Give `connectionString`, `pool` options, or both (e.g. a string and `ssl`). */
export interface PgProviderOptions<U = AuthUser> extends TableOptions<U> {
  /** Default: `'pg'`. */
  readonly name?: string;
  /** `postgres://user:password@host:5432/db`. Parsed at once; the password is kept out of enumerable properties. */
  readonly connectionString?: string;
  /** pg pool options; connection fields of `connectionString` take precedence. */
  readonly pool?: PgPoolOptions;
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
 *
 * With `toUser`, the user type is what it returns; without it, `user` is the
 * row as a plain record ({@link AuthUser}).
 */
export function pgProvider<U>(
  options: PgProviderOptions<U> & { readonly toUser: (row: UserRow) => U },
): PgProvider<U>;
export function pgProvider(options: PgProviderOptions<AuthUser>): PgProvider<AuthUser>;
export function pgProvider<U>(options: PgProviderOptions<U>): PgProvider<U> {
  const name = options.name ?? 'pg';
  const pg = loadPg();
  const connection = connectionConfig(options, pg.parse);
  const poolSize = options.poolSize ?? 2;
  const connectTimeoutMs = options.connectTimeoutMs ?? 1000;
  const statementTimeoutMs = options.statementTimeoutMs ?? 1000;
  let pool: PgPool | undefined;
  let closed = false;

  const poolFor = (): PgPool => {
    if (closed) throw new ResilientAuthError('CLOSED', `pgProvider "${name}" used after close()`);
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
    run: (client: PgClient) => Promise<readonly Row[]>,
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
      // The statement has settled here, even when the caller gave up on it (a
      // timeout, a hedge that won): only an error leaves the client suspect.
      client.release(discard);
    }
  };

  const introspector: Queryable = {
    query: async (text, values) => ({
      rows: await withClient(undefined, async (c) => (await c.query(text, values)).rows),
    }),
  };
  const provider = tableProvider(name, options, {
    introspector,
    run: (plan, identifier, ctx) =>
      withClient(ctx.signal, async (client) => {
        const query = { name: statementName(plan.text), text: plan.text, values: [identifier] };
        return (await client.query(query)).rows;
      }),
  });

  return {
    ...provider,
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

function connectionConfig(
  options: PgProviderOptions<unknown>,
  parse: (connectionString: string) => Readonly<Record<string, unknown>>,
): Readonly<Record<string, unknown>> {
  if (options.connectionString === undefined && options.pool === undefined) {
    throw new ConfigError('pgProvider', 'give connectionString or pool options');
  }
  for (const option of Object.keys(options.pool ?? {})) {
    const own = MANAGED[option];
    if (own) throw new ConfigError(`pgProvider.pool.${option}`, `set by pgProvider: use ${own}`);
  }
  if (options.connectionString === undefined) return { ...options.pool };
  const fields = connectionFields(parse, options.connectionString);
  if (fields === undefined) {
    throw new ConfigError(
      'pgProvider.connectionString',
      'is not a valid PostgreSQL connection string',
    );
  }
  return { ...options.pool, ...fields };
}
