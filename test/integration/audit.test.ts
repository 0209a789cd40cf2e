import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EmbeddedServer,
  startEmbeddedPostgres,
} from '../../examples/support/embedded-postgres.mjs';
import type { AuditDropEvent } from '../../src/audit/audit-options.js';
import { auditSchemaSql } from '../../src/audit/audit-schema.js';
import { type AuditSink, auditSink } from '../../src/audit/audit-sink.js';
import {
  type AttemptEvent,
  bcryptVerifier,
  createResilientAuth,
  hashPassword,
  isAuthUnavailableError,
  memoryProvider,
  type UnavailableEvent,
} from '../../src/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { recordingLogger } from '../support/fakes.js';
import { ADA, PASSWORD, recordingHooks } from '../support/fixtures.js';

const WRONG_PASSWORD = 'Tr0ub4dor&3-not-the-password';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('through createResilientAuth, on the shared server', () => {
  let db: TestDatabase;
  let hash: string;
  let sink: AuditSink;
  const recorded = recordingHooks();
  const sinkLogger = recordingLogger();
  let bufferedBeforeClose: number;
  let rowsBeforeClose: number;
  const select = async (table = 'login_history') =>
    (await db.pool.query(`SELECT * FROM ${table} ORDER BY id`)).rows;

  beforeAll(async () => {
    db = await createTestDatabase('audit');
    await db.pool.query(auditSchemaSql());
    await db.pool.query(auditSchemaSql()); // idempotent
    hash = await hashPassword(PASSWORD, 4);
    const primary = memoryProvider({
      name: 'primary',
      accounts: [{ identifier: 'ada@example.com', passwordHash: hash, user: ADA }],
    });
    // Writes wait for close(), which must flush them.
    sink = auditSink({ pool: db.pool, flushIntervalMs: 60_000, logger: sinkLogger });
    const auth = createResilientAuth({
      providers: [primary],
      hooks: [sink, recorded.hooks],
      verifier: bcryptVerifier({ threads: 0 }),
      logger: recordingLogger(),
      policy: { retry: { maxAttempts: 1 } },
    });
    const context = (n: number) => ({
      ip: `203.0.113.${n}`,
      userAgent: `agent/${n}`,
      requestId: `req-${n}`,
    });
    const attempts = [
      { identifier: 'ada@example.com', password: PASSWORD },
      { identifier: 'ada@example.com', password: WRONG_PASSWORD },
      { identifier: 'nobody@example.com', password: PASSWORD },
      { identifier: 'ada@example.com', password: 'x'.repeat(73) },
      { identifier: 'ada@example.com', password: PASSWORD, outage: true },
    ];
    for (const [n, { outage, ...credentials }] of attempts.entries()) {
      if (outage) primary.fail();
      try {
        await auth.authenticate({ ...credentials, context: context(n + 1) });
      } catch (error) {
        if (!isAuthUnavailableError(error)) throw error;
      }
      primary.recover();
    }
    bufferedBeforeClose = sink.health().counts.buffered ?? -1;
    rowsBeforeClose = (await select()).length;
    await auth.close();
    await sink.close();
    await sink.close(); // idempotent
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('writes one row per attempt, matching each attempt, once close() flushed them', async () => {
    expect([bufferedBeforeClose, rowsBeforeClose]).toEqual([5, 0]);
    expect(sink.health()).toEqual({
      name: 'audit',
      ok: true,
      counts: { buffered: 0, written: 5, dropped: 0 },
    });
    const rows = await select();
    expect(
      rows.map((r) => [r.request_id, r.outcome, r.cause, r.identifier, r.provider, r.degraded]),
    ).toEqual([
      ['req-1', 'authenticated', null, 'ada@example.com', 'primary', false],
      ['req-2', 'rejected', 'wrong_password', 'ada@example.com', 'primary', false],
      ['req-3', 'rejected', 'unknown_identifier', 'nobody@example.com', 'primary', false],
      ['req-4', 'rejected', 'invalid_input', null, null, false],
      ['req-5', 'unavailable', 'connection', 'ada@example.com', 'primary', false],
    ]);
    // One to one with what the hooks saw, context and duration included.
    const events = recorded.events
      .filter((e) => e.hook === 'onAttempt' || e.hook === 'onUnavailable')
      .map((e) => e.event as AttemptEvent | UnavailableEvent);
    expect(events).toHaveLength(rows.length);
    for (const [i, row] of rows.entries()) {
      const event = events[i]!;
      expect(row).toMatchObject({
        ip: event.context.ip,
        user_agent: event.context.userAgent,
        request_id: event.context.requestId,
        identifier: event.identifier ?? null,
      });
      expect(row.duration_ms).toBeCloseTo(event.durationMs, 6);
      expect(row.at).toBeInstanceOf(Date);
      expect(Math.abs(Date.now() - row.at.getTime())).toBeLessThan(60_000);
    }
    expect(sinkLogger.lines).toEqual([]);
  });

  it('never stores a secret: no column of any row holds the password, the wrong one, or the hash', async () => {
    const rows = await select();
    expect(rows).toHaveLength(5);
    const secrets = [PASSWORD, WRONG_PASSWORD, hash, hash.slice(7, 29)];
    for (const row of rows) {
      for (const [column, value] of Object.entries(row)) {
        const text = value instanceof Date ? value.toISOString() : String(value);
        for (const secret of secrets) {
          expect(text.includes(secret), `${column} holds a secret`).toBe(false);
        }
      }
    }
  });

  it('creates and writes a schema-qualified table whose name needs quoting', async () => {
    await db.pool.query('CREATE SCHEMA IF NOT EXISTS "audit trail"');
    const table = { schema: 'audit trail', name: 'login"history' };
    await db.pool.query(auditSchemaSql({ table }));
    const indexes = await db.pool.query(
      "SELECT indexname FROM pg_indexes WHERE schemaname = 'audit trail' ORDER BY indexname",
    );
    expect(indexes.rows.map((r) => r.indexname)).toEqual([
      'login"history_at_idx',
      'login"history_identifier_at_idx',
      'login"history_pkey',
    ]);
    const qualified = auditSink({ pool: db.pool, table, logger: recordingLogger() });
    qualified.onAttempt({
      outcome: 'rejected',
      call: { id: 1 },
      cause: 'rate_limited',
      identifier: 'ada@example.com',
      degraded: false,
      durationMs: 0.5,
      context: {},
    });
    await qualified.close();
    expect(await select('"audit trail"."login""history"')).toMatchObject([
      { outcome: 'rejected', cause: 'rate_limited', provider: null, ip: null },
    ]);
  });
});

describe('the audit database stopped under load, then started again', () => {
  let server: EmbeddedServer;
  let pool: pg.Pool;

  beforeAll(async () => {
    server = await startEmbeddedPostgres();
    pool = new pg.Pool({
      connectionString: server.url,
      max: 2,
      connectionTimeoutMillis: 500,
      query_timeout: 2000,
    });
    pool.on('error', () => undefined);
    await pool.query(auditSchemaSql());
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await server?.destroy();
  });

  it('writes every row the buffer held once it is back, and counts the drops exactly', async () => {
    const BUFFER = 500;
    const BATCH = 50;
    const N = 2000;
    const logger = recordingLogger();
    const drops: AuditDropEvent[] = [];
    const sink = auditSink({
      pool,
      bufferSize: BUFFER,
      batchSize: BATCH,
      flushIntervalMs: 20,
      maxRetryDelayMs: 100,
      logger,
      onDrop: (e) => drops.push(e),
    });
    const feed = (prefix: string, n: number) =>
      sink.onAttempt({
        outcome: 'rejected',
        call: { id: 1 },
        cause: 'wrong_password',
        identifier: `user${n % 37}@example.com`,
        provider: 'primary',
        degraded: false,
        durationMs: 3,
        context: { requestId: `${prefix}-${n}` },
      });

    for (let n = 0; n < 20; n++) feed('warm', n);
    await expect.poll(() => sink.health().counts.written, { timeout: 5000 }).toBe(20);

    await server.stop();
    // Under load: batches of logins, with time between them for the flusher to retry.
    for (let n = 0; n < N; n++) {
      feed('load', n);
      if (n % 100 === 99) await sleep(10);
    }
    expect(sink.health()).toMatchObject({
      ok: false,
      counts: { buffered: BUFFER, written: 20, dropped: N - BUFFER },
    });
    await sleep(300);

    await server.start();
    await expect
      .poll(() => sink.health().counts.buffered, { timeout: 20_000, interval: 50 })
      .toBe(0);
    expect(sink.health()).toEqual({
      name: 'audit',
      ok: true,
      counts: { buffered: 0, written: 20 + BUFFER, dropped: N - BUFFER },
    });
    expect(drops.at(-1)).toEqual({ dropped: 1, totalDropped: N - BUFFER, reason: 'buffer_full' });
    expect(drops).toHaveLength(N - BUFFER);

    const { rows } = await pool.query<{ request_id: string }>(
      "SELECT request_id FROM login_history WHERE request_id LIKE 'load-%'",
    );
    const arrived = new Set(rows.map((r) => r.request_id));
    expect(rows).toHaveLength(BUFFER);
    expect(arrived.size).toBe(BUFFER);
    // The newest rows all arrived (the batch in flight at each retry is kept too).
    for (let n = N - (BUFFER - BATCH); n < N; n++) expect(arrived.has(`load-${n}`)).toBe(true);

    // Logged at the edges, not per retry nor per drop.
    expect(logger.lines.map((l) => `${l.level} ${l.message.split(':')[0]}`).sort()).toEqual([
      'error audit writes to login_history fail',
      'warn audit buffer full',
      'warn audit writes resumed',
    ]);
    await sink.close();
  }, 60_000);
});
