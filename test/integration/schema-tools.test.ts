import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyReferenceSchema, REFERENCE_COLUMNS, validateSchema } from '../../src/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('schema_tools');
});
afterAll(async () => {
  await db?.drop();
});

describe('applyReferenceSchema', () => {
  it('is idempotent and enforces a case-insensitive unique identifier', async () => {
    await applyReferenceSchema(db.pool);
    await applyReferenceSchema(db.pool);
    await db.pool.query("INSERT INTO users (email, password_hash) VALUES ('Ada@Example.com', 'x')");
    await expect(
      db.pool.query("INSERT INTO users (email, password_hash) VALUES ('ada@example.com', 'y')"),
    ).rejects.toMatchObject({ code: '23505' });
    await expect(
      validateSchema(db.pool, { table: 'users', columns: REFERENCE_COLUMNS, checkOrder: true }),
    ).resolves.toMatchObject({
      ok: true,
      problems: [],
    });
  });

  it('creates a schema-qualified table', async () => {
    await db.pool.query('CREATE SCHEMA IF NOT EXISTS auth');
    await applyReferenceSchema(db.pool, 'auth.users');
    const report = await validateSchema(db.pool, {
      table: 'auth.users',
      columns: REFERENCE_COLUMNS,
    });
    expect(report).toMatchObject({ ok: true, table: 'auth.users', tableExists: true });
  });
});

describe('validateSchema', () => {
  it('reports missing and extra columns, type, nullability and order differences', async () => {
    await db.pool.query(`CREATE TABLE drifted (
      email varchar(320),
      id integer NOT NULL,
      password_hash text NOT NULL,
      legacy_flag boolean
    )`);
    const report = await validateSchema(db.pool, {
      table: 'drifted',
      checkOrder: true,
      columns: [
        { name: 'id', type: 'bigint', nullable: false },
        { name: 'email', type: 'text', nullable: false },
        { name: 'password_hash', type: 'text', nullable: false },
        { name: 'must_change_password', type: 'bool', nullable: false },
      ],
    });
    expect(report).toMatchObject({
      ok: false,
      tableExists: true,
      missing: ['must_change_password'],
      extra: ['legacy_flag'],
      typeMismatches: [
        { column: 'id', expected: 'bigint', actual: 'integer' },
        { column: 'email', expected: 'text', actual: 'character varying' },
      ],
      nullabilityMismatches: [{ column: 'email', expectedNullable: false, actualNullable: true }],
      orderDifferences: [
        { column: 'id', expectedPosition: 1, actualPosition: 2 },
        { column: 'email', expectedPosition: 2, actualPosition: 1 },
      ],
    });
    expect(report.problems).toContain('drifted.email: nullable, expected NOT NULL');
  });

  it('understands type aliases and reports a missing table', async () => {
    await db.pool.query('CREATE TABLE aliases (a int8, b timestamptz, c bool, d varchar(10))');
    const ok = await validateSchema(db.pool, {
      table: 'aliases',
      columns: [
        { name: 'a', type: 'bigint' },
        { name: 'b', type: 'timestamp with time zone' },
        { name: 'c', type: 'boolean' },
        { name: 'd', type: 'varchar(10)' },
      ],
    });
    expect(ok.ok).toBe(true);
    const missing = await validateSchema(db.pool, { table: 'nope', columns: REFERENCE_COLUMNS });
    expect(missing).toMatchObject({
      ok: false,
      tableExists: false,
      problems: ['table nope does not exist (or this role cannot see it)'],
    });
  });
});
