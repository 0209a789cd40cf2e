import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/doctor/check-result.js';
import type { DoctorReport } from '../../src/doctor/report.js';
import { runDoctor } from '../../src/doctor/run-doctor.js';
import { applyReferenceSchema, hashPassword, referenceSchemaSql } from '../../src/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const CANARY = { identifier: 'canary@example.com', password: 'Canary-Secret-4821' };
const ROLE = `doctor_reader_${randomBytes(3).toString('hex')}`;
const ROLE_PASSWORD = 'Role-Secret-7319';
const WRONG_PASSWORD = 'Wrong-Secret-5560';

let db: TestDatabase;
let cwd: string;

beforeAll(async () => {
  db = await createTestDatabase('doctor');
  await applyReferenceSchema(db.pool);
  await db.pool.query('INSERT INTO users (email, password_hash) VALUES ($1, $2)', [
    CANARY.identifier,
    await hashPassword(CANARY.password, 4),
  ]);
  await db.pool.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${ROLE_PASSWORD}'`);
  // The doctor reads the default config file from here: an empty directory, so the env decides.
  cwd = await mkdtemp(join(tmpdir(), 'resilient-auth-doctor-'));
});
afterAll(async () => {
  await db?.drop();
  // The role may go once the database holding its grants is gone.
  const { default: pg } = await import('pg');
  const url = new URL(db.url);
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  await admin.query(`DROP ROLE IF EXISTS ${ROLE}`);
  await admin.end();
  await rm(cwd, { recursive: true, force: true });
});

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function doctor(argv: readonly string[], env: Record<string, string>): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runDoctor(
    argv,
    env,
    {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
    },
    { cwd },
  );
  return { code, stdout, stderr };
}

/** Runs `doctor --json` and returns the checks of the one provider. */
async function checks(env: Record<string, string>, argv: readonly string[] = []) {
  const run = await doctor(['doctor', '--json', ...argv], env);
  const report = JSON.parse(run.stdout) as DoctorReport;
  const by = Object.fromEntries(report.checks.map((c) => [c.check, c])) as Record<
    CheckResult['check'],
    CheckResult
  >;
  return { ...run, report, by };
}

const statuses = (report: DoctorReport) => report.checks.map((c) => `${c.check}:${c.status}`);

function urlAs(user: string, password: string): string {
  const url = new URL(db.url);
  url.username = user;
  url.password = password;
  return url.toString();
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A fresh copy of the reference table under `name`, on which a test may break something. */
async function referenceTable(name: string): Promise<void> {
  for (const statement of referenceSchemaSql(name).split(';\n')) await db.pool.query(statement);
}

describe('resilient-auth doctor on the reference schema', () => {
  it('passes every configured check: exit 0, a PASS line per check, JSON ok true', async () => {
    const env = {
      DATABASE_URL: db.url,
      RESILIENT_AUTH_EXPECT_WRITABLE: 'true',
      RESILIENT_AUTH_CANARY_IDENTIFIER: CANARY.identifier,
      RESILIENT_AUTH_CANARY_PASSWORD: CANARY.password,
    };
    const text = await doctor(['doctor'], env);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^resilient-auth doctor: 1 provider from environment, timeout 5000 ms$/,
    );
    expect(lines.slice(1, 7).map((l) => l.slice(0, 16))).toEqual([
      'PASS connect    ',
      'PASS privileges ',
      'PASS schema     ',
      'PASS index      ',
      'PASS writable   ',
      'PASS canary     ',
    ]);
    expect(text.stdout).toContain(
      'PASS index      primary: unique index users_email_lower_key on users (lower(email)) serves the lookup',
    );
    expect(lines.at(-1)).toBe('6 passed, 0 failed, 0 skipped');

    const json = await checks(env);
    expect(json.code).toBe(0);
    expect(json.report.ok).toBe(true);
    expect(statuses(json.report)).toEqual([
      'connect:pass',
      'privileges:pass',
      'schema:pass',
      'index:pass',
      'writable:pass',
      'canary:pass',
    ]);
    for (const check of json.report.checks) {
      expect(check).toMatchObject({ provider: 'primary', message: expect.any(String) });
      expect(check.durationMs).toBeGreaterThanOrEqual(0);
    }
    // No identifier in the output either.
    expect(text.stdout + json.stdout).not.toContain(CANARY.identifier);
  });

  it('skips the optional checks that are not configured, and still exits 0', async () => {
    const { code, by, report } = await checks({ DATABASE_URL: db.url });
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    expect(by.writable).toMatchObject({
      status: 'skip',
      message: 'not expected (expectWritable is off)',
    });
    expect(by.canary).toMatchObject({ status: 'skip', message: 'no canary account configured' });
    expect(by.canary.hint).toContain('RESILIENT_AUTH_CANARY_PASSWORD');
  });

  it('reads a config file: two providers, a schema-qualified table, a column mapping, case-sensitive lookups', async () => {
    await db.pool.query('CREATE SCHEMA IF NOT EXISTS auth');
    await db.pool.query(`CREATE TABLE auth.accounts (
      account_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      login varchar(320) NOT NULL UNIQUE,
      pw text NOT NULL,
      is_active boolean NOT NULL DEFAULT true,
      must_change_password boolean NOT NULL DEFAULT false,
      locked_until timestamp
    )`);
    const file = join(cwd, 'two.json');
    await writeFile(
      file,
      JSON.stringify({
        providers: [
          { name: 'primary', connectionStringEnv: 'APP_DB', table: 'users', expectWritable: true },
          {
            name: 'accounts',
            connectionStringEnv: 'APP_DB',
            table: 'auth.accounts',
            columns: { id: 'account_id', identifier: 'login', passwordHash: 'pw' },
            caseInsensitive: false,
          },
        ],
      }),
    );
    const { code, report, stderr } = await checks({ APP_DB: db.url }, ['--config', file]);
    expect(stderr).toBe('');
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(code).toBe(0);
    expect(report.checks.map((c) => `${c.provider}/${c.check}:${c.status}`)).toEqual([
      'primary/connect:pass',
      'primary/privileges:pass',
      'primary/schema:pass',
      'primary/index:pass',
      'primary/writable:pass',
      'primary/canary:skip',
      'accounts/connect:pass',
      'accounts/privileges:pass',
      'accounts/schema:pass',
      'accounts/index:pass',
      'accounts/writable:skip',
      'accounts/canary:skip',
    ]);
    expect(report.checks[9]?.message).toBe(
      'unique index accounts_login_key on auth.accounts (login) serves the lookup',
    );
  });
});

describe('resilient-auth doctor finds what would break login', () => {
  it('a dropped column: FAIL schema naming table and column, exit 1', async () => {
    await referenceTable('dropped_column');
    await db.pool.query('ALTER TABLE dropped_column DROP COLUMN password_hash');
    const text = await doctor(['doctor'], {
      DATABASE_URL: db.url,
      RESILIENT_AUTH_TABLE: 'dropped_column',
    });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(
      'FAIL schema     primary: dropped_column.password_hash: column missing (mapped to passwordHash) - hint: add the column (run the migration), or map passwordHash to the right column (RESILIENT_AUTH_COLUMNS)',
    );
    expect(text.stdout).toMatch(/^PASS index {6}primary:/m);
    expect(text.stdout.trim().split('\n').at(-1)).toBe('3 passed, 1 failed, 2 skipped');
  });

  it('a column of the wrong type or nullability: FAIL schema naming both', async () => {
    await referenceTable('drifted_types');
    await db.pool.query(
      'ALTER TABLE drifted_types ALTER COLUMN is_active TYPE text, ALTER COLUMN email DROP NOT NULL',
    );
    const { code, by } = await checks({
      DATABASE_URL: db.url,
      RESILIENT_AUTH_TABLE: 'drifted_types',
    });
    expect(code).toBe(1);
    expect(by.schema.status).toBe('fail');
    expect(by.schema.message).toBe(
      'drifted_types.is_active: type is text, expected boolean; drifted_types.email: nullable, expected NOT NULL',
    );
  });

  it('a renamed table: FAIL schema naming the table, the table checks skipped, exit 1', async () => {
    await referenceTable('before_rename');
    await db.pool.query('ALTER TABLE before_rename RENAME TO after_rename');
    const { code, by, report } = await checks({
      DATABASE_URL: db.url,
      RESILIENT_AUTH_TABLE: 'before_rename',
    });
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(by.schema).toMatchObject({
      status: 'fail',
      message: 'table before_rename does not exist (or this role cannot see it)',
    });
    expect(by.schema.hint).toContain('RESILIENT_AUTH_TABLE');
    expect(by.privileges).toMatchObject({ status: 'skip' });
    expect(by.index).toMatchObject({ status: 'skip' });
  });

  it('a missing index: FAIL index with the CREATE INDEX to run', async () => {
    await referenceTable('no_index');
    await db.pool.query('DROP INDEX no_index_email_lower_key');
    const { code, by } = await checks({ DATABASE_URL: db.url, RESILIENT_AUTH_TABLE: 'no_index' });
    expect(code).toBe(1);
    expect(by.index).toEqual({
      provider: 'primary',
      check: 'index',
      status: 'fail',
      message:
        'no index on no_index whose leading key is lower(email); lookups match lower(email) = lower($1) (caseInsensitive), so every login scans the table',
      hint: 'CREATE UNIQUE INDEX CONCURRENTLY no_index_email_lower_key ON no_index (lower(email));',
      durationMs: expect.any(Number),
    });
  });

  it('a case-sensitive index while lookups are case-insensitive: FAIL index; with caseInsensitive false it passes', async () => {
    await referenceTable('plain_index');
    await db.pool.query('DROP INDEX plain_index_email_lower_key');
    await db.pool.query('CREATE UNIQUE INDEX plain_index_email_key ON plain_index (email)');
    const env = { DATABASE_URL: db.url, RESILIENT_AUTH_TABLE: 'plain_index' };
    const insensitive = await checks(env);
    expect(insensitive.code).toBe(1);
    expect(insensitive.by.index.message).toBe(
      'index plain_index_email_key on plain_index is on email, but lookups match lower(email) = lower($1) (caseInsensitive): it cannot serve them, and every login scans the table',
    );
    expect(insensitive.by.index.hint).toContain(
      'CREATE UNIQUE INDEX CONCURRENTLY plain_index_email_lower_key ON plain_index (lower(email));',
    );
    const sensitive = await checks({ ...env, RESILIENT_AUTH_CASE_INSENSITIVE: 'false' });
    expect(sensitive.by.index.status).toBe('pass');
    expect(sensitive.code).toBe(0);
  });

  it('a varchar identifier indexed on lower(email) serves case-insensitive lookups', async () => {
    await referenceTable('varchar_email');
    await db.pool.query('ALTER TABLE varchar_email ALTER COLUMN email TYPE varchar(320)');
    const { code, by } = await checks({
      DATABASE_URL: db.url,
      RESILIENT_AUTH_TABLE: 'varchar_email',
    });
    expect(by.index.message).toBe(
      'unique index varchar_email_email_lower_key on varchar_email (lower(email::text)) serves the lookup',
    );
    expect(code).toBe(0);
  });

  it('a role without SELECT: FAIL privileges naming role and table with the GRANT; the schema check skipped', async () => {
    const { code, by, stdout, stderr } = await checks({ DATABASE_URL: urlAs(ROLE, ROLE_PASSWORD) });
    expect(code).toBe(1);
    expect(by.connect.status).toBe('pass');
    expect(by.privileges).toMatchObject({
      status: 'fail',
      message: `role ${ROLE} has no SELECT on table users, nor on column(s) users.id, users.email, users.password_hash, users.is_active, users.must_change_password, users.locked_until`,
    });
    expect(by.privileges.hint).toContain(`GRANT SELECT ON users TO ${ROLE};`);
    expect(by.schema.status).toBe('skip');
    expect(by.index.status).toBe('pass');
    expect(stdout + stderr).not.toContain(ROLE_PASSWORD);
  });

  it('a role with SELECT on some columns only: FAIL privileges naming the missing column', async () => {
    await db.pool.query(
      `GRANT SELECT (id, email, password_hash, is_active, must_change_password) ON users TO ${ROLE}`,
    );
    try {
      const { code, by } = await checks({ DATABASE_URL: urlAs(ROLE, ROLE_PASSWORD) });
      expect(code).toBe(1);
      expect(by.privileges.message).toBe(
        `role ${ROLE} has no SELECT on table users, nor on column(s) users.locked_until`,
      );
      await db.pool.query(`GRANT SELECT (locked_until) ON users TO ${ROLE}`);
      const granted = await checks({ DATABASE_URL: urlAs(ROLE, ROLE_PASSWORD) });
      expect(granted.by.privileges).toMatchObject({
        status: 'pass',
        message: `role ${ROLE} can SELECT the 6 mapped columns of users (column privileges)`,
      });
      expect(granted.code).toBe(0);
    } finally {
      await db.pool.query(`REVOKE ALL ON users FROM ${ROLE}`);
    }
  });

  it('a wrong password: FAIL connect "authentication failed" with a hint, the rest skipped, the password never printed', async () => {
    const env = { DATABASE_URL: urlAs(ROLE, WRONG_PASSWORD) };
    const text = await doctor(['doctor'], env);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(
      /^FAIL connect {4}primary: authentication failed \(28P01\): password authentication failed for user "doctor_reader_\w+" - hint: the server refused the credentials: check the user and password in DATABASE_URL$/m,
    );
    const json = await checks(env);
    expect(json.code).toBe(1);
    expect(statuses(json.report)).toEqual([
      'connect:fail',
      'privileges:skip',
      'schema:skip',
      'index:skip',
      'writable:skip',
      'canary:skip',
    ]);
    for (const out of [text.stdout, text.stderr, json.stdout, json.stderr]) {
      expect(out).not.toContain(WRONG_PASSWORD);
      expect(out).not.toContain(encodeURIComponent(WRONG_PASSWORD));
      expect(out).not.toContain(db.url);
    }
  });

  it('an unreachable server: FAIL connect and the rest skipped, exit 1, promptly', async () => {
    const url = new URL(db.url);
    url.port = String(await closedPort());
    const started = performance.now();
    const { code, by, report } = await checks({ DATABASE_URL: url.toString() }, [
      '--timeout-ms',
      '2000',
    ]);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(code).toBe(1);
    expect(by.connect.status).toBe('fail');
    expect(by.connect.message).toMatch(/^cannot connect \(connection\) \(ECONNREFUSED\): /);
    expect(by.connect.hint).toContain('reachable');
    expect(
      report.checks
        .slice(1)
        .every((c) => c.status === 'skip' && c.message === 'not run: cannot connect'),
    ).toBe(true);
  });

  it('a server that accepts the connection but never answers: FAIL connect after --timeout-ms', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      // Read (and ignore) the startup message, so the client's hang-up is seen.
      socket.resume();
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const url = new URL(db.url);
      url.port = String((silent.address() as { port: number }).port);
      const started = performance.now();
      const { code, by } = await checks({ DATABASE_URL: url.toString() }, ['--timeout-ms', '300']);
      expect(performance.now() - started).toBeLessThan(1500);
      expect(code).toBe(1);
      expect(by.connect.message).toMatch(/^no answer within 300 ms/);
      expect(by.connect.hint).toContain('--timeout-ms');
      // The doctor hung up: no socket left open on the silent server.
      await expect.poll(() => sockets.size).toBe(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('read-only sessions when a writable server is expected: FAIL writable', async () => {
    // pg_is_in_recovery() cannot be faked without a real standby; default_transaction_read_only
    // is what a standby (or a database set read-only) looks like to a session.
    await db.pool.query(`ALTER DATABASE "${db.name}" SET default_transaction_read_only = on`);
    try {
      const { code, by } = await checks({
        DATABASE_URL: db.url,
        RESILIENT_AUTH_EXPECT_WRITABLE: 'true',
      });
      expect(code).toBe(1);
      expect(by.writable).toMatchObject({
        status: 'fail',
        message:
          'sessions are read-only (transaction_read_only = on, default_transaction_read_only = on)',
      });
      expect(by.writable.hint).toContain('RESET default_transaction_read_only');
      expect(by.schema.status).toBe('pass');
    } finally {
      await db.pool.query(`ALTER DATABASE "${db.name}" RESET default_transaction_read_only`);
    }
  });

  it('a canary login with a wrong password: FAIL canary with the reason, the password never printed', async () => {
    const env = {
      DATABASE_URL: db.url,
      RESILIENT_AUTH_CANARY_IDENTIFIER: CANARY.identifier,
      RESILIENT_AUTH_CANARY_PASSWORD: WRONG_PASSWORD,
    };
    const text = await doctor(['doctor'], env);
    const json = await checks(env);
    expect(text.code).toBe(1);
    expect(json.by.canary).toMatchObject({
      status: 'fail',
      message: 'the canary login was refused: invalid_credentials',
    });
    expect(text.stdout).toMatch(
      /^FAIL canary {5}primary: the canary login was refused: invalid_credentials - hint: /m,
    );
    for (const out of [text.stdout, text.stderr, json.stdout, json.stderr]) {
      expect(out).not.toContain(WRONG_PASSWORD);
      expect(out).not.toContain(CANARY.identifier);
    }
  });

  it('a canary account that is disabled: FAIL canary with the reason and what to set', async () => {
    await referenceTable('canary_disabled');
    await db.pool.query(
      'INSERT INTO canary_disabled (email, password_hash, is_active) VALUES ($1, $2, false)',
      [CANARY.identifier, await hashPassword(CANARY.password, 4)],
    );
    const { code, by } = await checks({
      DATABASE_URL: db.url,
      RESILIENT_AUTH_TABLE: 'canary_disabled',
      RESILIENT_AUTH_CANARY_IDENTIFIER: CANARY.identifier,
      RESILIENT_AUTH_CANARY_PASSWORD: CANARY.password,
    });
    expect(code).toBe(1);
    expect(by.canary).toMatchObject({
      status: 'fail',
      message: 'the canary login was refused: account_disabled',
      hint: "the canary account is disabled: set its account's active column to true",
    });
  });

  it('a canary login that cannot be decided (its table gone): FAIL canary with the failure kind and code', async () => {
    const { code, by } = await checks({
      DATABASE_URL: db.url,
      RESILIENT_AUTH_TABLE: 'no_such_table',
      RESILIENT_AUTH_CANARY_IDENTIFIER: CANARY.identifier,
      RESILIENT_AUTH_CANARY_PASSWORD: CANARY.password,
    });
    expect(code).toBe(1);
    expect(by.canary).toMatchObject({ status: 'fail' });
    expect(by.canary.message).toMatch(/^the canary login could not be decided: schema \(42P01\): /);
    expect(by.canary.message).toContain('no_such_table');
    expect(by.canary.hint).toMatch(/migration|table/);
  });

  it('--canary-identifier picks the account; the password still comes from the environment', async () => {
    const { code, by } = await checks(
      { DATABASE_URL: db.url, RESILIENT_AUTH_CANARY_PASSWORD: CANARY.password },
      ['--canary-identifier', 'CANARY@example.com'],
    );
    expect(by.canary).toMatchObject({
      status: 'pass',
      message: 'logged in with the canary account',
    });
    expect(code).toBe(0);
  });

  it('leaves no connection open behind it', async () => {
    // A backend leaves pg_stat_activity a moment after its client hung up.
    await expect
      .poll(async () => {
        const { rows } = await db.pool.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'resilient-auth%'",
          [db.name],
        );
        return rows[0].n;
      })
      .toBe(0);
  });
});

describe('resilient-auth doctor that cannot run exits 2', () => {
  it.each([
    [['doctor', '--jsn'], "Unknown option '--jsn'"],
    [
      ['doctor', '--timeout-ms', 'soon'],
      '--timeout-ms: expected a whole number of milliseconds from 1 to 600000, got "soon"',
    ],
    [['doctor', '--timeout-ms'], "Option '--timeout-ms <value>' argument missing"],
    [['doctor', '--password', 'x'], "Unknown option '--password'"],
    [[], 'missing the command: doctor'],
    [['docter'], 'unknown command "docter"'],
  ])('%j: the problem and the usage on stderr', async (argv, problem) => {
    const run = await doctor(argv, { DATABASE_URL: db.url });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(problem);
    expect(run.stderr).toContain('Usage: resilient-auth doctor');
  });

  it('--help prints the usage on stdout and exits 0', async () => {
    const run = await doctor(['doctor', '--help'], {});
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^Usage: resilient-auth doctor \[--config <file.json>\]/);
  });

  it('no providers configured', async () => {
    const run = await doctor(['doctor'], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'resilient-auth doctor: config: no providers configured: give --config <file.json>, create resilient-auth.config.json here, or set DATABASE_URL\n',
    );
  });

  it.each([
    [
      '{ "providers": [ { "name": "a", "connectionString": "postgres://u:Json-Secret-1@h/db", } ] }',
      'is not valid JSON (line 1, column 88)',
    ],
    ['{ "providers": [] }', ': providers: configure at least one provider'],
    [
      '{ "providers": [ { "name": "a", "connectionStringEnv": "APP_DB" } ] }',
      ': providers[0].table: Invalid input: expected string, received undefined',
    ],
    [
      '{ "providers": [ { "name": "a", "connectionStringEnv": "APP_DB", "table": "users", "expectWriteable": true } ] }',
      ': providers[0]: Unrecognized key: "expectWriteable"',
    ],
    [
      '{ "providers": [ { "name": "a", "connectionStringEnv": "NOT_SET", "table": "users" } ] }',
      ': providers[0].connectionStringEnv: environment variable NOT_SET is not set',
    ],
    [
      '{ "providers": [ { "name": "a", "connectionStringEnv": "APP_DB", "table": "a.b.c" } ] }',
      ': providers[0].table: expected "table" or "schema.table", got "a.b.c"',
    ],
    [
      '{ "providers": [ { "name": "a", "connectionStringEnv": "APP_DB", "table": "users", "columns": { "identifier": "" } } ] }',
      ': providers[0].columns.identifier: Too small',
    ],
    [
      '{ "providers": [ { "name": "a", "table": "users" } ] }',
      ': providers[0]: give exactly one of connectionString and connectionStringEnv',
    ],
    [
      '{ "providers": [ { "name": "a", "connectionStringEnv": "APP_DB", "table": "users" } ], "canary": { "identifier": "c@example.com" } }',
      ': canary.identifier: a canary identifier is set, but its password is not: set RESILIENT_AUTH_CANARY_PASSWORD',
    ],
  ])('a bad config file: %s', async (content, problem) => {
    const file = join(cwd, 'bad.json');
    await writeFile(file, content);
    const run = await doctor(['doctor', '--config', file], { APP_DB: db.url });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`resilient-auth doctor: ${file}`);
    expect(run.stderr).toContain(problem);
    expect(run.stderr).not.toContain('Json-Secret-1');
  });

  it('an unreadable config file', async () => {
    const run = await doctor(['doctor', '--config', 'missing.json'], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `resilient-auth doctor: --config: cannot read ${join(cwd, 'missing.json')} (ENOENT)\n`,
    );
  });

  it('bad environment: columns, booleans, a canary identifier without its password', async () => {
    const bad = async (env: Record<string, string>) =>
      (await doctor(['doctor'], { DATABASE_URL: db.url, ...env })).stderr;
    expect(await bad({ RESILIENT_AUTH_COLUMNS: 'identifier:email' })).toContain(
      'RESILIENT_AUTH_COLUMNS: expected field=column pairs separated by commas',
    );
    expect(await bad({ RESILIENT_AUTH_EXPECT_WRITABLE: 'yes' })).toContain(
      'RESILIENT_AUTH_EXPECT_WRITABLE: expected true or false, got "yes"',
    );
    expect(await bad({ RESILIENT_AUTH_CANARY_IDENTIFIER: 'c@example.com' })).toContain(
      'RESILIENT_AUTH_CANARY_IDENTIFIER: a canary identifier is set, but its password is not: set RESILIENT_AUTH_CANARY_PASSWORD',
    );
  });
});

describe('the resilient-auth command', () => {
  let cli: string;
  beforeAll(async () => {
    // Built from the sources into .tmp (never dist, which other builds clean), as tsup builds the bin.
    const { build } = await import('tsup');
    const outDir = join(process.cwd(), '.tmp', `doctor-cli-${randomBytes(3).toString('hex')}`);
    await build({
      config: false,
      entry: { cli: 'src/doctor/cli.ts' },
      outDir,
      format: ['esm'],
      platform: 'node',
      target: 'node20',
      shims: true,
      silent: true,
      dts: false,
      clean: false,
    });
    cli = join(outDir, 'cli.js');
  });
  afterAll(async () => {
    if (cli) await rm(join(cli, '..'), { recursive: true, force: true });
  });

  function spawnCli(args: readonly string[], env: Record<string, string>): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [cli, ...args], {
        cwd,
        env: { PATH: process.env.PATH ?? '', ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }

  it('runs as a process: exit 0 with JSON on stdout, exit 1 on a failure, exit 2 on a bad flag, and exits promptly', async () => {
    const started = performance.now();
    const ok = await spawnCli(['doctor', '--json'], {
      DATABASE_URL: db.url,
      RESILIENT_AUTH_CANARY_IDENTIFIER: CANARY.identifier,
      RESILIENT_AUTH_CANARY_PASSWORD: CANARY.password,
    });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true });
    expect(performance.now() - started).toBeLessThan(5000);

    const failed = await spawnCli(['doctor'], { DATABASE_URL: urlAs(ROLE, WRONG_PASSWORD) });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('FAIL connect    primary: authentication failed');
    expect(failed.stdout + failed.stderr).not.toContain(WRONG_PASSWORD);

    const bad = await spawnCli(['doctor', '--nope'], {});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Unknown option '--nope'");
  });
});
