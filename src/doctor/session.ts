import {
  connectionFields,
  type PgClient,
  type PgDriver,
  type PgPool,
} from '../providers/pg-driver.js';
import type { Queryable, Row } from '../providers/queryable.js';

/** One connection of the doctor to one provider's database, for all of its checks. */
export interface DoctorSession {
  /** Runs one statement; bounded by the statement timeout. */
  query(text: string, values?: readonly unknown[]): Promise<readonly Row[]>;
  /** The same connection as a `Queryable`, for `validateSchema`. */
  readonly queryable: Queryable;
  /** Ends the connection and its pool. Never throws; a second call does nothing. */
  close(): Promise<void>;
}

/** Thrown when the connection string cannot be parsed; its message never quotes the string. */
export class UnparsableConnectionString extends Error {
  constructor() {
    super('not a valid PostgreSQL connection string');
    this.name = 'UnparsableConnectionString';
  }
}

/**
 * The password of a connection string, so it can be redacted from every
 * message even where `safeMessage` would not recognise it.
 */
export function connectionPassword(driver: PgDriver, connectionString: string): string | undefined {
  const password = connectionFields(driver.parse, connectionString)?.password;
  return typeof password === 'string' ? password : undefined;
}

/**
 * Opens one connection (a pool of one, so pg's connect timeout applies) with
 * the connect timeout, a server-side statement timeout and a client-side
 * query timeout, all of `timeoutMs`. The connection string is passed as
 * separate fields, as pgProvider does, so pg keeps the password non-enumerable.
 */
export async function openSession(
  driver: PgDriver,
  connectionString: string,
  timeoutMs: number,
): Promise<DoctorSession> {
  const fields = connectionFields(driver.parse, connectionString);
  if (fields === undefined) throw new UnparsableConnectionString();
  const pool: PgPool = new driver.Pool({
    application_name: 'resilient-auth-doctor',
    ...fields,
    max: 1,
    allowExitOnIdle: true,
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
    query_timeout: timeoutMs + 500,
  });
  // An idle client's error (the server going away) must not crash the command.
  pool.on('error', () => undefined);
  let client: PgClient;
  try {
    client = await pool.connect();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  const ignore = () => undefined;
  client.on('error', ignore);
  const query = async (text: string, values: readonly unknown[] = []) =>
    (await client.query(text, [...values])).rows;
  let closed = false;
  return {
    query,
    queryable: { query: async (text, values) => ({ rows: await query(text, values) }) },
    async close() {
      if (closed) return;
      closed = true;
      client.off('error', ignore);
      client.release(true);
      await pool.end().catch(() => undefined);
    },
  };
}
