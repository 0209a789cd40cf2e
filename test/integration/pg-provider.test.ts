import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type AuthUnavailableError,
  bcryptVerifier,
  createResilientAuth,
  isConfigError,
  pgProvider,
} from '../../src/index.js';
import { CONTRACT_PASSWORD, contractSeeds, toContractUser } from '../contract/provider-contract.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { seedUsers } from '../support/users-table.js';

const login = { identifier: 'ada@example.com', password: CONTRACT_PASSWORD };
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('pg_provider');
  await seedUsers(db.pool, await contractSeeds());
  // A view whose every row takes 2 s: only statement_timeout can stop it early.
  await db.pool.query(
    'CREATE VIEW slow_users AS SELECT u.*, pg_sleep(2)::text AS nap FROM users u',
  );
});
afterAll(async () => {
  await db?.drop();
});

describe('pgProvider', () => {
  it('connects from pool options as well as from a connection string', async () => {
    const url = new URL(db.url);
    const provider = pgProvider({
      toUser: toContractUser,
      name: 'fields',
      table: 'users',
      pool: {
        host: url.hostname,
        port: Number(url.port),
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        database: url.pathname.slice(1),
      },
    });
    const auth = createResilientAuth({
      providers: [provider],
      verifier: bcryptVerifier({ threads: 0 }),
    });
    await expect(auth.authenticate(login)).resolves.toMatchObject({ ok: true, provider: 'fields' });
    expect(provider.poolStats().total).toBe(1);
    await auth.close();
    expect(provider.poolStats()).toEqual({ total: 0, idle: 0, waiting: 0 });
  });

  it('keeps every parameter of the connection string: options=-c search_path=... picks the schema', async () => {
    await db.pool.query('CREATE SCHEMA tenant_a');
    await db.pool.query('CREATE TABLE tenant_a.users AS SELECT * FROM public.users');
    await db.pool.query("UPDATE tenant_a.users SET email = 'ada@tenant-a.example' WHERE id = 1");
    const url = new URL(db.url);
    url.searchParams.set('options', '-c search_path=tenant_a');
    url.searchParams.set('application_name', 'login-tenant-a');
    const provider = pgProvider({
      connectionString: url.toString(),
      table: 'users',
      toUser: toContractUser,
    });
    const signal = new AbortController().signal;
    await expect(provider.findAccount('ada@tenant-a.example', { signal })).resolves.toMatchObject({
      user: { id: 1, email: 'ada@tenant-a.example' },
    });
    const { rows } = await db.pool.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'login-tenant-a'",
    );
    expect(rows[0].n).toBe(1);
    await provider.close();
  });

  it.each([
    ['max', 'poolSize'],
    ['connectionTimeoutMillis', 'connectTimeoutMs'],
    ['statement_timeout', 'statementTimeoutMs'],
    ['query_timeout', 'statementTimeoutMs'],
    ['connectionString', 'connectionString'],
  ])('refuses the pool option %s, which it sets itself, naming %s', (option, own) => {
    expect(() =>
      pgProvider({ connectionString: db.url, table: 'users', pool: { [option]: 50 } }),
    ).toThrow(`pgProvider.pool.${option}: set by pgProvider: use ${own}`);
  });

  it('says what it needs when given neither a connection string nor pool options', () => {
    expect(() => pgProvider({ table: 'users' })).toThrow(
      'pgProvider: give connectionString or pool options',
    );
  });

  it('names itself to the server, and hands idle-connection errors to onIdleError', async () => {
    const idleErrors: Error[] = [];
    const provider = pgProvider({
      connectionString: db.url,
      table: 'users',
      onIdleError: (error) => idleErrors.push(error),
    });
    await provider.findAccount('ada@example.com', { signal: new AbortController().signal });
    const { rows } = await db.pool.query(
      "SELECT pid FROM pg_stat_activity WHERE application_name = 'resilient-auth' AND datname = current_database()",
    );
    expect(rows).toHaveLength(1);
    await db.pool.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
    await vi.waitFor(() => expect(idleErrors).toHaveLength(1));
    expect(idleErrors[0]?.message).toMatch(/terminating connection/);
    await provider.close();
  });

  it('keeps the connection password out of what can be printed, and out of errors', async () => {
    const password = decodeURIComponent(new URL(db.url).password);
    const provider = pgProvider({ connectionString: db.url, table: 'users' });
    await provider.findAccount('ada@example.com', { signal: new AbortController().signal });
    expect(inspect(provider, { depth: 10, showHidden: false })).not.toContain(password);
    expect(JSON.stringify(provider)).not.toContain(password);
    await provider.close();

    let error: unknown;
    try {
      pgProvider({ connectionString: 'postgres://app:s3cr3t@[bad', table: 'users' });
    } catch (e) {
      error = e;
    }
    expect(isConfigError(error)).toBe(true);
    expect((error as Error).message).toBe(
      'pgProvider.connectionString: is not a valid PostgreSQL connection string',
    );
  });

  it('sets statement_timeout: a query the server keeps busy is cancelled (57014), reported as a timeout, not retried', async () => {
    const provider = pgProvider({
      toUser: toContractUser,
      name: 'direct',
      connectionString: db.url,
      table: 'slow_users',
      statementTimeoutMs: 200,
    });
    const auth = createResilientAuth({
      providers: [provider],
      policy: { timeoutMs: 5000 },
      deadlineMs: 8000,
      verifier: bcryptVerifier({ threads: 0 }),
    });
    const error = (await auth.authenticate(login).catch((e: unknown) => e)) as AuthUnavailableError;
    expect(error.failures).toEqual([
      expect.objectContaining({ provider: 'direct', code: '57014', kind: 'timeout', attempts: 1 }),
    ]);
    // The client that saw the error was discarded, not returned to the pool.
    expect(provider.poolStats().total).toBe(0);
    await auth.close();
  });

  it('refuses to be used after close() with code CLOSED, naming the provider', async () => {
    const provider = pgProvider({ connectionString: db.url, table: 'users' });
    await provider.close();
    await expect(
      provider.findAccount('ada@example.com', { signal: new AbortController().signal }),
    ).rejects.toMatchObject({ code: 'CLOSED', message: 'pgProvider "pg" used after close()' });
  });

  it('refuses to pick between two rows that match the identifier: AMBIGUOUS_ACCOUNT, not a login', async () => {
    await db.pool.query('CREATE TABLE dupes (id int, email text, password_hash text)');
    const hash = (await contractSeeds())[0]?.passwordHash;
    await db.pool.query(
      "INSERT INTO dupes VALUES (1, 'Ada@example.com', $1), (2, 'ada@example.com', $1)",
      [hash],
    );
    const provider = pgProvider({
      toUser: toContractUser,
      name: 'direct',
      connectionString: db.url,
      table: 'dupes',
    });
    const auth = createResilientAuth({
      providers: [provider],
      verifier: bcryptVerifier({ threads: 0 }),
    });
    const error = (await auth.authenticate(login).catch((e: unknown) => e)) as AuthUnavailableError;
    expect(error.failures).toEqual([
      expect.objectContaining({ code: 'AMBIGUOUS_ACCOUNT', kind: 'configuration', attempts: 1 }),
    ]);
    expect(error.message).toMatch(
      /more than one row of dupes matches the identifier case-insensitively/,
    );
    await auth.close();
  });
});
