import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy, type ProxyMode } from '../../examples/support/fault-proxy.mjs';
import {
  type AuthUnavailableError,
  bcryptVerifier,
  createResilientAuth,
  type PgProvider,
  pgProvider,
  sqlProvider,
} from '../../src/index.js';
import {
  CONTRACT_PASSWORD,
  type ContractUser,
  contractSeeds,
  toContractUser,
} from '../contract/provider-contract.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { recordingHooks } from '../support/fixtures.js';
import { seedUsers } from '../support/users-table.js';

const login = { identifier: 'ada@example.com', password: CONTRACT_PASSWORD };
let db: TestDatabase;
let proxy: FaultProxy;
let primary: PgProvider<ContractUser> | undefined;

beforeAll(async () => {
  db = await createTestDatabase('faults');
  await seedUsers(db.pool, await contractSeeds());
  const target = new URL(db.url);
  proxy = await FaultProxy.start({ host: target.hostname, port: Number(target.port) });
});
afterEach(async () => {
  await primary?.close();
  primary = undefined;
  await proxy.set({ type: 'pass' });
});
afterAll(async () => {
  await proxy?.close();
  await db?.drop();
});

/** The direct pg path goes through the proxy; the fallback reads the same table over the app's pool. */
function setup(options: { poolSize?: number; connectTimeoutMs?: number; timeoutMs?: number } = {}) {
  primary = pgProvider({
    toUser: toContractUser,
    name: 'direct',
    connectionString: proxy.url(db.url),
    table: 'users',
    poolSize: options.poolSize ?? 2,
    connectTimeoutMs: options.connectTimeoutMs ?? 1000,
  });
  const recorded = recordingHooks();
  const auth = createResilientAuth({
    providers: [
      primary,
      sqlProvider({ toUser: toContractUser, name: 'app-sql', executor: db.pool, table: 'users' }),
    ],
    deadlineMs: 2000,
    policy: { timeoutMs: options.timeoutMs ?? 300, retry: { maxAttempts: 2, baseDelayMs: 10 } },
    hooks: recorded.hooks,
    verifier: bcryptVerifier({ threads: 0 }),
  });
  return { auth, primary, ...recorded };
}

type Expected = { code: string | RegExp; kind: string; attempts: number; warm: boolean };

// `warm`: a login first opens pooled connections, so the fault also hits open
// ones. A refusing proxy lets open connections carry on, so that case starts cold.
const scenarios: [string, ProxyMode, Expected][] = [
  [
    'refused',
    { type: 'refuse' },
    { code: 'ECONNREFUSED', kind: 'connection', attempts: 2, warm: false },
  ],
  [
    'reset',
    { type: 'reset' },
    { code: /ECONNRESET|^08/, kind: 'connection', attempts: 2, warm: true },
  ],
  [
    'slower than the timeout',
    { type: 'latency', ms: 1500 },
    { code: 'PROVIDER_TIMEOUT', kind: 'timeout', attempts: 1, warm: true },
  ],
  [
    'black-holed',
    { type: 'blackhole' },
    { code: 'PROVIDER_TIMEOUT', kind: 'timeout', attempts: 1, warm: true },
  ],
];

describe('network faults between the direct provider and PostgreSQL', () => {
  it.each(scenarios)(
    '%s: fails over to the fallback within the deadline, then the primary serves again',
    async (_, mode, expected) => {
      const { auth, primary, of } = setup();
      if (expected.warm) {
        await expect(auth.authenticate(login)).resolves.toMatchObject({
          ok: true,
          provider: 'direct',
        });
      }

      await proxy.set(mode);
      const result = await auth.authenticate(login);
      expect(result).toMatchObject({ ok: true, provider: 'app-sql', degraded: true });
      const [fallback] = of('onFallback') as {
        failures: { code: string; kind: string; attempts: number }[];
      }[];
      expect(fallback?.failures).toEqual([
        expect.objectContaining({
          provider: 'direct',
          code: expect.stringMatching(expected.code),
          kind: expected.kind,
          attempts: expected.attempts,
        }),
      ]);
      // A wrong password is still a definitive answer from the fallback.
      await expect(auth.authenticate({ ...login, password: 'wrong' })).resolves.toEqual({
        ok: false,
        reason: 'invalid_credentials',
      });

      await proxy.set({ type: 'pass' });
      await expect
        .poll(async () => (await auth.authenticate(login)).ok && auth.health().status)
        .toBe('healthy');
      expect(primary.poolStats().total).toBeLessThanOrEqual(2);
      expect(of('onRecovered')).toEqual([{ provider: 'direct' }]);
      await auth.close();
    },
  );

  it('keeps the connection of a lookup abandoned mid-statement once the statement settles', async () => {
    const { primary } = setup({ poolSize: 1 });
    const signal = new AbortController().signal;
    await primary.findAccount('ada@example.com', { signal });
    const accepted = proxy.accepted;
    await proxy.set({ type: 'latency', ms: 100 });
    // The orchestrator gives up on it (a timeout, a hedge that won) while the statement runs.
    const caller = new AbortController();
    const abandoned = primary.findAccount('ada@example.com', { signal: caller.signal });
    setTimeout(() => caller.abort(new Error('given up')), 20);
    await expect(abandoned).resolves.toMatchObject({ user: { email: 'ada@example.com' } });
    await proxy.set({ type: 'pass' });
    // The client was healthy: the next lookup reuses it, no new connection.
    await primary.findAccount('ada@example.com', { signal });
    expect(proxy.accepted).toBe(accepted);
    expect(primary.poolStats().total).toBe(1);
  });

  it('reports pool exhaustion as such, not as "database down"', async () => {
    const { auth, primary } = setup({ poolSize: 1, connectTimeoutMs: 100, timeoutMs: 1500 });
    await auth.authenticate(login);
    await proxy.set({ type: 'latency', ms: 300 });
    const [slow, starved] = await Promise.allSettled([
      primary.findAccount('ada@example.com', { signal: new AbortController().signal }),
      primary.findAccount('ada@example.com', { signal: new AbortController().signal }),
    ]);
    expect(slow.status).toBe('fulfilled');
    expect(starved.status).toBe('rejected');

    const pending = auth.authenticate(login);
    const blocked = auth.authenticate(login);
    await expect(pending).resolves.toMatchObject({ ok: true });
    const second = await blocked;
    expect(second).toMatchObject({ ok: true });
    const failed = auth.health().providers[0]?.lastFailure;
    expect(failed).toMatchObject({
      message: 'timeout exceeded when trying to connect',
      kind: 'pool_exhausted',
    });
    await auth.close();
  });

  it('gives up at the deadline when every path hangs: unavailable, never invalid_credentials', async () => {
    primary = pgProvider({
      toUser: toContractUser,
      name: 'direct',
      connectionString: proxy.url(db.url),
      table: 'users',
    });
    const second = pgProvider({
      toUser: toContractUser,
      name: 'direct-2',
      connectionString: proxy.url(db.url),
      table: 'users',
    });
    const auth = createResilientAuth({
      providers: [primary, second],
      deadlineMs: 700,
      policy: { timeoutMs: 500 },
      verifier: bcryptVerifier({ threads: 0 }),
    });
    await proxy.set({ type: 'blackhole' });
    const error = (await auth.authenticate(login).catch((e: unknown) => e)) as AuthUnavailableError;
    expect(error.code).toBe('AUTH_UNAVAILABLE');
    expect(error.failures.map((f) => [f.provider, f.code])).toEqual([
      ['direct', 'PROVIDER_TIMEOUT'],
      ['direct-2', 'DEADLINE_EXCEEDED'],
    ]);
    await auth.close();
  });
});
