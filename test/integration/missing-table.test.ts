import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuthUnavailableError,
  bcryptVerifier,
  createResilientAuth,
  hashPassword,
  pgProvider,
  sqlProvider,
} from '../../src/index.js';
import { toContractUser } from '../contract/provider-contract.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { recordingLogger } from '../support/fakes.js';
import { recordingHooks } from '../support/fixtures.js';
import { drizzleProvider } from '../support/orm-lookups.js';

const PASSWORD = 'table-Pa55';
let db: TestDatabase;
let legacy: TestDatabase;

beforeAll(async () => {
  // `db` has no users table at all; `legacy` holds the account under another name.
  db = await createTestDatabase('missing_table');
  legacy = await createTestDatabase('missing_table_legacy');
  await legacy.pool.query(
    'CREATE TABLE members (id int PRIMARY KEY, email text NOT NULL, password_hash text NOT NULL)',
  );
  await legacy.pool.query("INSERT INTO members VALUES (1, 'ada@example.com', $1)", [
    await hashPassword(PASSWORD, 4),
  ]);
});
afterAll(async () => {
  await db?.drop();
  await legacy?.drop();
});

describe('a missing table (42P01)', () => {
  it('fails fast on every path, without retries, with a message naming the table', async () => {
    const recorded = recordingHooks();
    const auth = createResilientAuth({
      providers: [
        drizzleProvider(db.pool, 'drizzle'),
        sqlProvider({ toUser: toContractUser, name: 'raw-sql', executor: db.pool, table: 'users' }),
        pgProvider({
          toUser: toContractUser,
          name: 'direct',
          connectionString: db.url,
          table: 'users',
        }),
      ],
      hooks: recorded.hooks,
      verifier: bcryptVerifier({ threads: 0 }),
    });
    const error = (await auth
      .authenticate({ identifier: 'ada@example.com', password: PASSWORD })
      .catch((e: unknown) => e)) as AuthUnavailableError;
    expect(error.code).toBe('AUTH_UNAVAILABLE');
    expect(error.failures.map((f) => [f.provider, f.code, f.kind, f.attempts])).toEqual([
      ['drizzle', '42P01', 'schema', 1],
      ['raw-sql', '42P01', 'schema', 1],
      ['direct', '42P01', 'schema', 1],
    ]);
    expect(error.failures[0]?.message).toBe('relation "users" does not exist');
    expect(error.failures[1]?.message).toMatch(/^table users does not exist/);
    expect(
      recorded.of('onProviderFailure').every((e) => !(e as { willRetry: boolean }).willRetry),
    ).toBe(true);
    expect(auth.health().status).toBe('unhealthy');
    await auth.close();
  });

  it('an audit hook that writes to a missing table does not break login', async () => {
    const logger = recordingLogger();
    const auth = createResilientAuth({
      providers: [sqlProvider({ name: 'legacy', executor: legacy.pool, table: 'members' })],
      verifier: bcryptVerifier({ threads: 0 }),
      logger,
      hooks: {
        onAttempt: async (event) => {
          await legacy.pool.query('INSERT INTO audit_log (outcome, identifier) VALUES ($1, $2)', [
            event.outcome,
            event.identifier,
          ]);
        },
      },
    });
    await expect(
      auth.authenticate({ identifier: 'ada@example.com', password: PASSWORD }),
    ).resolves.toMatchObject({ ok: true, provider: 'legacy', user: { id: 1 } });
    await expect(
      auth.authenticate({ identifier: 'ada@example.com', password: 'wrong' }),
    ).resolves.toEqual({ ok: false, reason: 'invalid_credentials' });
    await expect.poll(() => logger.lines.length).toBe(2);
    expect(logger.lines[0]).toMatchObject({
      level: 'error',
      meta: { hook: 'onAttempt', error: 'relation "audit_log" does not exist' },
    });
    await auth.close();
  });

  it('a table dropped after the lookup was planned: 42P01 at run time fails over, and the path serves again once it is back', async () => {
    await legacy.pool.query('CREATE TABLE users AS SELECT * FROM members');
    const recorded = recordingHooks();
    const sql = sqlProvider({ name: 'raw-sql', executor: legacy.pool, table: 'users' });
    const direct = pgProvider({ name: 'direct', connectionString: legacy.url, table: 'users' });
    const auth = createResilientAuth({
      providers: [
        sql,
        direct,
        sqlProvider({ name: 'members', executor: legacy.pool, table: 'members' }),
      ],
      hooks: recorded.hooks,
      verifier: bcryptVerifier({ threads: 0 }),
    });
    const login = { identifier: 'ada@example.com', password: PASSWORD };
    await expect(auth.authenticate(login)).resolves.toMatchObject({
      ok: true,
      provider: 'raw-sql',
    });
    // Plan the direct path too, so both hold a plan when the table goes.
    await direct.findAccount('ada@example.com', { signal: new AbortController().signal });

    await legacy.pool.query('ALTER TABLE users RENAME TO users_old');
    await expect(auth.authenticate(login)).resolves.toMatchObject({
      ok: true,
      provider: 'members',
      degraded: true,
    });
    expect(recorded.of('onProviderFailure')).toEqual([
      expect.objectContaining({
        provider: 'raw-sql',
        code: '42P01',
        kind: 'schema',
        attempt: 1,
        willRetry: false,
      }),
      expect.objectContaining({
        provider: 'direct',
        code: '42P01',
        kind: 'schema',
        attempt: 1,
        willRetry: false,
      }),
    ]);
    expect(auth.health().providers[0]?.lastFailure).toMatchObject({
      code: '42P01',
      message:
        'table users does not exist (or this role cannot see it): create it (see applyReferenceSchema) or point "table" at the right one',
      hint: expect.stringContaining('run the migration'),
    });

    await legacy.pool.query('ALTER TABLE users_old RENAME TO users');
    await expect(auth.authenticate(login)).resolves.toMatchObject({
      ok: true,
      provider: 'raw-sql',
      degraded: false,
    });
    expect(auth.health().status).toBe('healthy');
    await auth.close();
  });
});
