import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from '../../examples/support/fault-proxy.mjs';
import {
  type AuthHooks,
  createResilientAuth,
  isAuthUnavailableError,
  memoryProvider,
  type ResilientAuth,
  type ThrottleOptions,
} from '../../src/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { recordingLogger, recordingVerifier } from '../support/fakes.js';
import { type ADA, accounts, PASSWORD } from '../support/fixtures.js';

// The limits through createResilientAuth with their counters in PostgreSQL (the shared server).
// The user store is a memory provider with an instant fake verifier, so the
// counts, not bcrypt, are what these tests exercise.

let db: TestDatabase;
const opened: ResilientAuth<typeof ADA>[] = [];

beforeAll(async () => {
  db = await createTestDatabase('throttled_login');
});
afterAll(async () => {
  await Promise.all(opened.map((auth) => auth.close()));
  await db?.drop();
});

function instance(
  pool: pg.Pool,
  throttle: Omit<ThrottleOptions, 'store'> = {},
  hooks: AuthHooks = {},
) {
  const users = memoryProvider({ name: 'users', accounts });
  const verifier = recordingVerifier();
  const auth = createResilientAuth<typeof ADA>({
    providers: [users],
    verifier,
    hooks,
    logger: recordingLogger(),
    throttle: { ...throttle, store: { type: 'postgres', pool, tableName: 'login_throttle' } },
  });
  opened.push(auth);
  return { auth, users, verifier };
}

const attempt = (password: string, ip = '203.0.113.7', identifier = 'ada@example.com') => ({
  identifier,
  password,
  context: { ip },
});

/** `n` logins in a row; counts each answer's reason. */
async function logins(
  auth: ResilientAuth<typeof ADA>,
  n: number,
  make: (i: number) => ReturnType<typeof attempt>,
) {
  const reasons: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const result = await auth.authenticate(make(i));
    const reason = result.ok ? 'ok' : result.reason;
    reasons[reason] = (reasons[reason] ?? 0) + 1;
  }
  return reasons;
}

/** The sum of the points every key holds in the table. */
async function pointsInTable(): Promise<number> {
  const { rows } = await db.pool.query<{ sum: string | null }>(
    'SELECT sum(points)::text AS sum FROM login_throttle',
  );
  return Number(rows[0]?.sum ?? 0);
}

describe('throttle with the PostgreSQL store', () => {
  it('cuts 1,000 wrong passwords from one IP off after 10, at zero lookups and checks after that', async () => {
    const { auth, users, verifier } = instance(db.pool);
    const reasons = await logins(auth, 1000, () => attempt('wrong'));
    expect(reasons).toEqual({ invalid_credentials: 10, rate_limited: 990 });
    expect(users.lookups).toBe(10);
    expect(verifier.calls).toHaveLength(10);
    // The real user, from that IP, is throttled too; from another IP she logs in.
    expect(await auth.authenticate(attempt(PASSWORD))).toMatchObject({ reason: 'rate_limited' });
    expect(await auth.authenticate(attempt(PASSWORD, '192.0.2.44'))).toMatchObject({ ok: true });
  });

  it('cuts 1,000 wrong passwords from 1,000 IPs off after the per-account 100', async () => {
    const { auth, users } = instance(db.pool);
    const reasons = await logins(auth, 1000, (i) =>
      attempt('wrong', `198.51.${Math.floor(i / 250)}.${i % 250}`, 'rotate@example.com'),
    );
    expect(reasons).toEqual({ invalid_credentials: 100, rate_limited: 900 });
    expect(users.lookups).toBe(100);
  });

  it('shares the count between two instances on the same table', async () => {
    const first = instance(db.pool);
    const second = instance(db.pool);
    const ip = '203.0.113.50';
    const reasons = await logins(first.auth, 5, () => attempt('wrong', ip));
    const more = await logins(second.auth, 10, () => attempt('wrong', ip));
    expect(reasons).toEqual({ invalid_credentials: 5 });
    expect(more).toEqual({ invalid_credentials: 5, rate_limited: 5 });
  });

  it('adds nothing to any counter during an outage of the user store', async () => {
    await db.pool.query('DELETE FROM login_throttle');
    const { auth, users } = instance(db.pool);
    users.fail();
    for (let i = 0; i < 20; i++) {
      const error = await auth.authenticate(attempt('wrong', `192.0.2.${i}`)).catch((e) => e);
      expect(isAuthUnavailableError(error)).toBe(true);
    }
    expect(await pointsInTable()).toBe(0);
  });
});

describe('the store cut off mid-run (refused, then black-holed)', () => {
  let proxy: FaultProxy;
  let pool: pg.Pool;

  beforeAll(async () => {
    const target = new URL(db.url);
    proxy = await FaultProxy.start({ host: target.hostname, port: Number(target.port) });
    pool = new pg.Pool({
      connectionString: proxy.url(db.url),
      max: 4,
      connectionTimeoutMillis: 500,
    });
    pool.on('error', () => undefined);
  });
  afterAll(async () => {
    await proxy?.close();
    await pool?.end();
  });

  it('keeps the limits from memory, never throws to the caller, and says so once', async () => {
    const events: string[] = [];
    const { auth } = instance(
      pool,
      { storeTimeoutMs: 100, storeRetryMs: 200 },
      {
        onThrottleStoreFailure: (e) => void events.push(`failure ${e.store}`),
        onThrottleStoreRecovered: (e) => void events.push(`recovered ${e.store}`),
      },
    );
    const ip = '203.0.113.90';
    expect(await logins(auth, 3, () => attempt('wrong', ip))).toEqual({ invalid_credentials: 3 });

    // Reset the pool's open connections too, so no query slips through an old one.
    await proxy.set({ type: 'reset' });
    await proxy.set({ type: 'refuse' });
    expect(await logins(auth, 30, () => attempt('wrong', ip, 'other@example.com'))).toEqual({
      invalid_credentials: 10,
      rate_limited: 20,
    });
    await proxy.set({ type: 'blackhole' });
    expect(await logins(auth, 30, () => attempt('wrong', ip, 'third@example.com'))).toEqual({
      invalid_credentials: 10,
      rate_limited: 20,
    });
    expect(auth.health().throttle).toEqual({ store: 'postgres', storeOk: false });
    expect(events).toEqual(['failure postgres']);

    await proxy.set({ type: 'pass' });
    await expect
      .poll(
        async () => {
          await auth.authenticate(attempt(PASSWORD, '192.0.2.200'));
          return events;
        },
        { timeout: 10_000, interval: 250 },
      )
      .toEqual(['failure postgres', 'recovered postgres']);
    expect(auth.health().throttle).toEqual({ store: 'postgres', storeOk: true });
  });
});
