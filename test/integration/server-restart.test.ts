import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EmbeddedServer,
  startEmbeddedPostgres,
} from '../../examples/support/embedded-postgres.mjs';
import {
  bcryptVerifier,
  createResilientAuth,
  isAuthUnavailableError,
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
import { recordingHooks } from '../support/fixtures.js';
import { seedUsers } from '../support/users-table.js';

// This file stops and starts a server, so it runs its own rather than the shared one.
let server: EmbeddedServer;
let appPool: pg.Pool;

beforeAll(async () => {
  server = await startEmbeddedPostgres();
  appPool = new pg.Pool({ connectionString: server.url, max: 4, connectionTimeoutMillis: 500 });
  appPool.on('error', () => undefined);
  await seedUsers(appPool, await contractSeeds());
}, 60_000);
afterAll(async () => {
  await appPool?.end();
  await server?.destroy();
});

describe('the server stopped under a steady stream of logins, then started again', () => {
  it('never gives a wrong answer, leaks nothing, and the primary serves again after the half-open probe', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);

    const primary: PgProvider<ContractUser> = pgProvider({
      toUser: toContractUser,
      name: 'direct',
      connectionString: server.url,
      table: 'users',
      poolSize: 2,
      connectTimeoutMs: 300,
    });
    const recorded = recordingHooks();
    const auth = createResilientAuth({
      providers: [
        primary,
        sqlProvider({ toUser: toContractUser, name: 'app-sql', executor: appPool, table: 'users' }),
      ],
      deadlineMs: 1500,
      policy: { timeoutMs: 500, halfOpenAfterMs: 300, breaker: { consecutiveFailures: 3 } },
      hooks: recorded.hooks,
      verifier: bcryptVerifier({ threads: 0 }),
    });

    const outcomes = { granted: 0, refused: 0, unavailable: 0, wrong: [] as string[] };
    let phase = 'before';
    let running = true;
    const client = async (n: number) => {
      for (let i = 0; running; i++) {
        const correct = (i + n) % 2 === 0;
        const password = correct ? CONTRACT_PASSWORD : 'wrong-password';
        try {
          const r = await auth.authenticate({ identifier: 'ada@example.com', password });
          if (r.ok && correct) outcomes.granted++;
          else if (!r.ok && !correct && r.reason === 'invalid_credentials') outcomes.refused++;
          else
            outcomes.wrong.push(
              `${phase}: ${correct ? 'correct' : 'wrong'} password gave ${JSON.stringify(r)}`,
            );
        } catch (error) {
          if (isAuthUnavailableError(error)) outcomes.unavailable++;
          else outcomes.wrong.push(`${phase}: threw ${String(error)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const stream = Promise.all([0, 1, 2, 3].map(client));
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    await sleep(500);
    phase = 'stopped';
    await server.stop();
    await sleep(1500);
    const whileDown = outcomes.unavailable;
    phase = 'restarted';
    await server.start();
    await expect
      .poll(() => auth.health().providers[0]?.state === 'closed' && auth.health().status, {
        timeout: 15_000,
      })
      .toBe('healthy');
    await sleep(300);
    running = false;
    await stream;
    process.off('unhandledRejection', onUnhandled);

    expect(outcomes.wrong).toEqual([]);
    expect(unhandled).toEqual([]);
    expect(whileDown).toBeGreaterThan(0);
    expect(outcomes.granted).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
    const states = (recorded.of('onCircuitStateChange') as { provider: string; to: string }[])
      .filter((e) => e.provider === 'direct')
      .map((e) => e.to);
    expect(states).toContain('open');
    expect(states.slice(-2)).toEqual(['half-open', 'closed']);

    // No leaked connections: the pool is back within its size, and the server agrees.
    expect(primary.poolStats()).toMatchObject({ waiting: 0 });
    expect(primary.poolStats().total).toBeLessThanOrEqual(2);
    const { rows } = await appPool.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'resilient-auth'",
    );
    expect(rows[0]?.n).toBeLessThanOrEqual(2);
    await auth.close();
    const countOurs = async () =>
      (
        await appPool.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'resilient-auth'",
        )
      ).rows[0]?.n;
    // Backends exit just after their client disconnects.
    await expect.poll(countOurs).toBe(0);
  }, 60_000);
});
