import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bcryptVerifier,
  createResilientAuth,
  hashPassword,
  isSchemaMismatchError,
  REFERENCE_COLUMNS,
  sqlProvider,
  validateSchema,
} from '../../src/index.js';
import { manualClock } from '../../src/testing/index.js';
import { toContractUser } from '../contract/provider-contract.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { recordingLogger } from '../support/fakes.js';
import { recordingHooks } from '../support/fixtures.js';
import { drizzleProvider } from '../support/orm-lookups.js';

const PASSWORD = 'drift-Pa55';
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('drift');
  // The live table as a migration left it: must_change_password was never added.
  await db.pool.query(`CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL,
    password_hash text NOT NULL,
    is_active boolean NOT NULL DEFAULT true,
    locked_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
  )`);
  await db.pool.query('INSERT INTO users (email, password_hash) VALUES ($1, $2)', [
    'ada@example.com',
    await hashPassword(PASSWORD, 4),
  ]);
});
afterAll(async () => {
  await db?.drop();
});

describe('the outage that started it all: the ORM model has a column the table lacks', () => {
  it('fails the ORM with 42703, serves login through raw SQL without the column, and tells operators', async () => {
    const recorded = recordingHooks();
    const auth = createResilientAuth({
      providers: [
        drizzleProvider(db.pool, 'drizzle'),
        sqlProvider({ toUser: toContractUser, name: 'raw-sql', executor: db.pool, table: 'users' }),
      ],
      hooks: recorded.hooks,
      verifier: bcryptVerifier({ threads: 0 }),
      logger: recordingLogger(),
    });

    const result = await auth.authenticate({ identifier: 'ada@example.com', password: PASSWORD });
    expect(result).toMatchObject({
      ok: true,
      provider: 'raw-sql',
      degraded: true,
      mustChangePassword: false,
      user: { email: 'ada@example.com' },
    });

    // 42703 is permanent: no retry on the ORM path.
    expect(recorded.of('onProviderFailure')).toEqual([
      expect.objectContaining({
        provider: 'drizzle',
        code: '42703',
        kind: 'schema',
        attempt: 1,
        willRetry: false,
      }),
    ]);
    expect(recorded.of('onFallback')).toEqual([
      expect.objectContaining({
        provider: 'raw-sql',
        failures: [expect.objectContaining({ provider: 'drizzle', code: '42703' })],
      }),
    ]);
    expect(recorded.of('onDegraded')).toHaveLength(1);
    expect(recorded.of('onSchemaDrift')).toEqual([
      {
        type: 'schema_drift',
        provider: 'raw-sql',
        table: 'users',
        missingColumns: [{ field: 'mustChangePassword', column: 'must_change_password' }],
        message: expect.stringContaining('"must_change_password"'),
      },
    ]);

    const health = auth.health();
    expect(health.status).toBe('degraded');
    expect(health.providers[0]?.lastFailure).toMatchObject({
      code: '42703',
      message: expect.stringContaining('must_change_password'),
    });
    // The unwrapped driver error, not the ORM's wrapper that repeats query and parameters.
    expect(health.providers[0]?.lastFailure?.message).not.toContain('ada@example.com');

    const report = await validateSchema(db.pool, { table: 'users', columns: REFERENCE_COLUMNS });
    expect(report.ok).toBe(false);
    expect(report.missing).toEqual(['must_change_password']);
    expect(report.problems).toContain('users.must_change_password: column missing');
    await auth.close();
  });

  it('a missing required column makes the SQL provider fail fast, naming table and column, in health too', async () => {
    const auth = createResilientAuth({
      providers: [
        sqlProvider({
          name: 'raw-sql',
          executor: db.pool,
          table: 'users',
          columns: { passwordHash: 'pw_hash' },
        }),
      ],
      verifier: bcryptVerifier({ threads: 0 }),
    });
    const error = await auth
      .authenticate({ identifier: 'ada@example.com', password: PASSWORD })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'AUTH_UNAVAILABLE',
      failures: [
        expect.objectContaining({
          provider: 'raw-sql',
          code: '42703',
          kind: 'schema',
          attempts: 1,
        }),
      ],
    });
    const failure = (error as { failures: { error: unknown }[] }).failures[0]?.error;
    expect(isSchemaMismatchError(failure)).toBe(true);
    expect(failure).toMatchObject({ table: 'users', column: 'pw_hash' });
    expect(auth.health().providers[0]?.lastFailure?.message).toMatch(
      /table users has no column "pw_hash" \(required for passwordHash\)/,
    );
    const check = await auth.check();
    expect(check.providers[0]).toMatchObject({ ok: false, error: { code: '42703' } });
    await auth.close();
  });

  it('re-reads the schema when a column vanishes at runtime (42703) and still answers', async () => {
    await db.pool.query(
      'CREATE TABLE accounts (id int PRIMARY KEY, email text, password_hash text, is_active boolean, nickname text)',
    );
    await db.pool.query("INSERT INTO accounts VALUES (1, 'bob@example.com', $1, true, 'bobby')", [
      await hashPassword(PASSWORD, 4),
    ]);
    const recorded = recordingHooks();
    const auth = createResilientAuth({
      providers: [
        sqlProvider({ executor: db.pool, table: 'accounts', columns: { nickname: 'nickname' } }),
      ],
      hooks: recorded.hooks,
      verifier: bcryptVerifier({ threads: 0 }),
    });
    const login = { identifier: 'bob@example.com', password: PASSWORD };
    await expect(auth.authenticate(login)).resolves.toMatchObject({
      ok: true,
      user: { nickname: 'bobby' },
    });
    await db.pool.query('ALTER TABLE accounts DROP COLUMN nickname');
    const after = await auth.authenticate(login);
    expect(after).toMatchObject({ ok: true, degraded: false });
    expect(after.ok && after.user).not.toHaveProperty('nickname');
    expect(recorded.of('onSchemaDrift').at(-1)).toMatchObject({
      missingColumns: expect.arrayContaining([{ field: 'nickname', column: 'nickname' }]),
    });
    await auth.close();
  });

  it('reads the schema again after schemaRecheckMs on the injected clock, picking up a migration that added the column', async () => {
    await db.pool.query(
      'CREATE TABLE migrating (id int PRIMARY KEY, email text, password_hash text, is_active boolean, locked_until timestamptz)',
    );
    await db.pool.query("INSERT INTO migrating VALUES (1, 'eve@example.com', $1, true, NULL)", [
      await hashPassword(PASSWORD, 4),
    ]);
    const clock = manualClock();
    const recorded = recordingHooks();
    const auth = createResilientAuth({
      providers: [
        sqlProvider({ executor: db.pool, table: 'migrating', clock, schemaRecheckMs: 30_000 }),
      ],
      hooks: recorded.hooks,
      verifier: bcryptVerifier({ threads: 0 }),
    });
    const login = { identifier: 'eve@example.com', password: PASSWORD };
    await expect(auth.authenticate(login)).resolves.toMatchObject({ mustChangePassword: false });
    expect(recorded.of('onSchemaDrift')).toHaveLength(1);

    // The migration lands and flags the account; the provider still runs its old plan.
    await db.pool.query(
      'ALTER TABLE migrating ADD COLUMN must_change_password boolean NOT NULL DEFAULT true',
    );
    clock.advance(29_999);
    await expect(auth.authenticate(login)).resolves.toMatchObject({ mustChangePassword: false });
    clock.advance(1);
    await expect(auth.authenticate(login)).resolves.toMatchObject({ mustChangePassword: true });
    // No drift any more: no new notice, and no more re-reads however much time passes.
    expect(recorded.of('onSchemaDrift')).toHaveLength(1);
    await db.pool.query('ALTER TABLE migrating DROP COLUMN must_change_password');
    clock.advance(3_600_000);
    await expect(auth.authenticate(login)).resolves.toMatchObject({ mustChangePassword: false });
    // ...except when the server says a column vanished (42703), as here.
    expect(recorded.of('onSchemaDrift')).toHaveLength(2);
    await auth.close();
  });
});
