import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type EmbeddedServer,
  startEmbeddedPostgres,
} from '../../examples/support/embedded-postgres.mjs';
import { FaultProxy } from '../../examples/support/fault-proxy.mjs';
import type { ThrottleNotifier } from '../../src/throttle/store-guard.js';
import { createThrottle, type Throttle } from '../../src/throttle/throttle.js';
import type { ThrottleOptions } from '../../src/throttle/throttle-options.js';
import { throttleSchemaSql } from '../../src/throttle/throttle-schema.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
const opened: Throttle[] = [];

beforeAll(async () => {
  db = await createTestDatabase('throttle');
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
});
afterAll(async () => {
  await db?.drop();
});

type StoreOverrides = { tableName?: string; createTable?: boolean };

function open(pool: pg.Pool, options: Omit<ThrottleOptions, 'store'> & StoreOverrides = {}) {
  const { tableName, createTable, ...rest } = options;
  const events: string[] = [];
  const notifier: ThrottleNotifier = {
    storeFailed: (store, message) => events.push(`failed ${store}: ${message}`),
    storeRecovered: (store) => events.push(`recovered ${store}`),
  };
  const throttle = createThrottle(
    { ...rest, store: { type: 'postgres', pool, tableName, createTable } },
    notifier,
  );
  opened.push(throttle);
  return { throttle, events };
}

/**
 * `count` wrong-password attempts, `concurrency` at a time, each admitted one
 * settled as a failure. Returns how many were admitted.
 */
async function wrongPasswords(
  throttles: readonly Throttle[],
  count: number,
  attempt: (i: number) => { identifier: string; ip: string | undefined },
  concurrency = 50,
): Promise<number> {
  let admitted = 0;
  for (let start = 0; start < count; start += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, count - start) }, async (_, j) => {
      const i = start + j;
      const { identifier, ip } = attempt(i);
      const admission = await throttles[i % throttles.length]!.admit(identifier, ip);
      if (!admission.admitted) return;
      admitted++;
      await admission.settle('failure');
    });
    await Promise.all(batch);
  }
  return admitted;
}

/** Attempts (on another account) until the store answers again and the notifier says so. */
async function recovery(throttle: Throttle, events: readonly string[]): Promise<void> {
  await expect
    .poll(
      async () => {
        await wrongPasswords([throttle], 1, fromOneIp('probe@example.com'));
        return events.length;
      },
      { timeout: 10_000, interval: 100 },
    )
    .toBe(2);
  expect(events[1]).toBe('recovered postgres');
}

const fromOneIp = (identifier: string) => () => ({ identifier, ip: '203.0.113.7' });
const fromManyIps = (identifier: string) => (i: number) => ({
  identifier,
  ip: `198.51.${Math.floor(i / 250)}.${i % 250}`,
});

describe('PostgreSQL store', () => {
  it('cuts 1,000 wrong passwords against one account off after the configured count', async () => {
    // About counting in the table, not about a slow store: a cold pool under a burst may take long.
    const { throttle, events } = open(db.pool, { storeTimeoutMs: 10_000 });
    expect(throttle.store).toBe('postgres');
    expect(await wrongPasswords([throttle], 1000, fromOneIp('ada@example.com'))).toBe(10);
    expect(await wrongPasswords([throttle], 1000, fromManyIps('bob@example.com'))).toBe(100);
    expect(await throttle.admit('bob@example.com', '192.0.2.99')).toMatchObject({
      admitted: false,
      limit: 'account',
    });
    expect(events).toEqual([]);

    // The table holds digests only (base64url: no '@', no '.'), never an identifier or address.
    const { rows } = await db.pool.query<{ key: string }>(
      'SELECT key FROM resilient_auth_throttle',
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const { key } of rows) {
      expect(key).toMatch(/^resilient-auth:[\w-]+:[\w-]{43}$/);
    }
  });

  it('shares the count between two throttles on the same table', async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    try {
      const first = open(db.pool, { keyPrefix: 'shared', storeTimeoutMs: 10_000 }).throttle;
      const second = open(pool, { keyPrefix: 'shared', storeTimeoutMs: 10_000 }).throttle;
      const attempts = fromOneIp('carol@example.com');
      expect(await wrongPasswords([first, second], 40, attempts, 1)).toBe(10);
      expect(await first.admit('carol@example.com', '203.0.113.7')).toMatchObject({
        admitted: false,
        limit: 'consecutive',
      });
      // Another key prefix counts apart.
      const apart = open(db.pool, { storeTimeoutMs: 10_000 }).throttle;
      expect(await wrongPasswords([apart], 40, attempts, 1)).toBe(10);
    } finally {
      await Promise.all(opened.splice(0).map((t) => t.close()));
      await pool.end();
    }
  });

  it('gives points back in the table: uncounted attempts leave every count as it was', async () => {
    const { throttle } = open(db.pool, { keyPrefix: 'uncounted' });
    for (let i = 0; i < 30; i++) {
      const admission = await throttle.admit('dave@example.com', '203.0.113.7');
      if (!admission.admitted) throw new Error(`refused at attempt ${i}`);
      await admission.settle('uncounted');
    }
    const { rows } = await db.pool.query<{ points: number }>(
      "SELECT points FROM resilient_auth_throttle WHERE key LIKE 'uncounted:%'",
    );
    expect(rows.map((r) => r.points)).toEqual([0, 0, 0]);
  });

  it('with createTable: false, uses the table a migration made from throttleSchemaSql()', async () => {
    await db.pool.query('CREATE SCHEMA IF NOT EXISTS auth');
    await db.pool.query(throttleSchemaSql({ tableName: 'auth.login_throttle' }));
    const { throttle, events } = open(db.pool, {
      tableName: 'auth.login_throttle',
      createTable: false,
    });
    expect(await wrongPasswords([throttle], 20, fromOneIp('erin@example.com'), 1)).toBe(10);
    const { rows } = await db.pool.query('SELECT key FROM auth.login_throttle');
    expect(rows).toHaveLength(3);
    expect(events).toEqual([]);
  });

  it('with createTable: false and no table, counts in memory and says why', async () => {
    const { throttle, events } = open(db.pool, {
      tableName: 'missing_throttle',
      createTable: false,
    });
    expect(await wrongPasswords([throttle], 20, fromOneIp('frank@example.com'), 1)).toBe(10);
    expect(events).toEqual(['failed postgres: relation "missing_throttle" does not exist']);
    const { rows } = await db.pool.query("SELECT to_regclass('missing_throttle') AS t");
    expect(rows[0].t).toBeNull();
  });
});

describe('a hung store', () => {
  it('is given up after storeTimeoutMs: memory counts, the notifier hears it once, then the recovery', async () => {
    const target = new URL(db.url);
    const proxy = await FaultProxy.start({ host: target.hostname, port: Number(target.port) });
    // An app pool as it should be: a query stuck on a dead connection ends, and the connection with it.
    const pool = new pg.Pool({
      connectionString: proxy.url(db.url),
      max: 2,
      connectionTimeoutMillis: 1000,
      query_timeout: 1000,
    });
    pool.on('error', () => undefined);
    try {
      const { throttle, events } = open(pool, { keyPrefix: 'hung', storeRetryMs: 100 });
      expect(await wrongPasswords([throttle], 3, fromOneIp('gina@example.com'), 1)).toBe(3);
      await proxy.set({ type: 'blackhole' });
      // Limits hold from memory while the store says nothing, carrying on from the counts it had seen.
      expect(await wrongPasswords([throttle], 30, fromOneIp('gina@example.com'), 5)).toBe(7);
      expect(await wrongPasswords([throttle], 30, fromOneIp('hank@example.com'), 5)).toBe(10);
      expect(events).toEqual(['failed postgres: postgres store did not answer within 250 ms']);

      await proxy.set({ type: 'pass' });
      await recovery(throttle, events);
      // The table is the reference again: gina's 3 failures from before the hang are there;
      // what memory counted meanwhile was not written back.
      expect(await wrongPasswords([throttle], 30, fromOneIp('gina@example.com'), 1)).toBe(7);
    } finally {
      await Promise.all(opened.splice(0).map((t) => t.close()));
      await pool.end();
      await proxy.close();
    }
  });
});

// This block stops and starts a server, so it runs its own rather than the shared one.
describe('the store database stopped mid-run, then started again', () => {
  let server: EmbeddedServer;
  let pool: pg.Pool;

  beforeAll(async () => {
    server = await startEmbeddedPostgres();
    pool = new pg.Pool({ connectionString: server.url, max: 4, connectionTimeoutMillis: 1000 });
    pool.on('error', () => undefined);
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await server?.destroy();
  });

  it('keeps the limits from memory, never rejects, notifies once, and recovers after the restart', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { throttle, events } = open(pool, { storeRetryMs: 200 });
      expect(await wrongPasswords([throttle], 4, fromOneIp('ada@example.com'), 1)).toBe(4);

      await server.stop();
      const whileDown = await Promise.allSettled([
        wrongPasswords([throttle], 500, fromOneIp('ada@example.com')),
        wrongPasswords([throttle], 500, fromOneIp('bob@example.com')),
        wrongPasswords([throttle], 500, fromManyIps('carol@example.com')),
      ]);
      // ada carries on from her 4 failures; the others start, and stop, where they should.
      expect(whileDown).toEqual([
        { status: 'fulfilled', value: 6 },
        { status: 'fulfilled', value: 10 },
        { status: 'fulfilled', value: 100 },
      ]);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatch(/^failed postgres: /);
      expect(events[0]).not.toContain('resilient-auth-test');

      await server.start();
      await recovery(throttle, events);
      // ada's 4 failures from before the outage are in the table: 6 more, then the block.
      expect(await wrongPasswords([throttle], 30, fromOneIp('ada@example.com'), 1)).toBe(6);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
