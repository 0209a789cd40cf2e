import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy, type ProxyMode } from '../../examples/support/fault-proxy.mjs';
import {
  type AuthUnavailableError,
  bcryptVerifier,
  createResilientAuth,
  emergencyAccountsFromEnv,
  emergencyProvider,
  hashPassword,
  isAuthUnavailableError,
  type PgProvider,
  pgProvider,
  type ResilientAuth,
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

const OPS = 'ops-alice';
const OPS_PASSWORD = 'break the glass';
let db: TestDatabase;
let proxy: FaultProxy;
let env: string;
let primary: PgProvider<ContractUser> | undefined;
let auth: ResilientAuth<ContractUser | { id: string; emergency: true }> | undefined;

beforeAll(async () => {
  db = await createTestDatabase('break_glass');
  await seedUsers(db.pool, await contractSeeds());
  const target = new URL(db.url);
  proxy = await FaultProxy.start({ host: target.hostname, port: Number(target.port) });
  env = `${OPS}:${await hashPassword(OPS_PASSWORD, 10)}`;
});
afterEach(async () => {
  await auth?.close();
  auth = undefined;
  primary = undefined;
  await proxy.set({ type: 'pass' });
});
afterAll(async () => {
  await proxy?.close();
  await db?.drop();
});

/** One real pgProvider through the fault proxy, the default bcrypt worker pool, break-glass access from an env value. */
function setup() {
  primary = pgProvider({
    toUser: toContractUser,
    name: 'direct',
    connectionString: proxy.url(db.url),
    table: 'users',
    poolSize: 2,
    connectTimeoutMs: 500,
  });
  const recorded = recordingHooks();
  const created = createResilientAuth<ContractUser | { id: string; emergency: true }>({
    providers: [primary],
    deadlineMs: 1500,
    policy: { timeoutMs: 300, retry: { maxAttempts: 1 } },
    hooks: recorded.hooks,
    verifier: bcryptVerifier(),
    emergency: emergencyProvider({
      accounts: emergencyAccountsFromEnv(env),
      expiresAt: new Date(Date.now() + 60 * 60 * 1000),
    }),
  });
  auth = created;
  return { auth: created, ...recorded };
}

describe('break-glass access against a real PostgreSQL', () => {
  it('while the database answers, the emergency identifier is unknown; users log in as usual', async () => {
    const { auth, of } = setup();
    await expect(auth.authenticate({ identifier: OPS, password: OPS_PASSWORD })).resolves.toEqual({
      ok: false,
      reason: 'invalid_credentials',
    });
    await expect(
      auth.authenticate({ identifier: 'ada@example.com', password: CONTRACT_PASSWORD }),
    ).resolves.toMatchObject({ ok: true, provider: 'direct', degraded: false });
    expect(of('onEmergencyAccess')).toEqual([]);
  });

  it.each([
    ['refused', { type: 'refuse' }],
    // The lookup spends its timeout: the check still runs on a free thread.
    ['black-holed', { type: 'blackhole' }],
  ] as [string, ProxyMode][])(
    '%s: the operator gets in, a wrong password and a user do not',
    async (_, mode) => {
      const { auth, of } = setup();
      await proxy.set(mode);
      await expect(auth.authenticate({ identifier: OPS, password: OPS_PASSWORD })).resolves.toEqual(
        {
          ok: true,
          user: { id: OPS, emergency: true },
          provider: 'emergency',
          degraded: true,
          mustChangePassword: false,
          emergency: true,
        },
      );
      for (const credentials of [
        { identifier: OPS, password: 'guess' },
        { identifier: 'ada@example.com', password: CONTRACT_PASSWORD },
      ]) {
        const error = await auth.authenticate(credentials).catch((e: unknown) => e);
        expect(isAuthUnavailableError(error)).toBe(true);
        expect((error as AuthUnavailableError).failures.map((f) => f.provider)).toEqual(['direct']);
      }
      expect(
        of('onEmergencyAccess').map((e) => {
          const { granted, identifier } = e as { granted: boolean; identifier: string };
          return { granted, identifier };
        }),
      ).toEqual([
        { granted: true, identifier: OPS },
        { granted: false, identifier: OPS },
      ]);
      expect(auth.health().emergency).toMatchObject({ accounts: 1, expired: false });
    },
  );
});
