import { afterAll, beforeAll, describe } from 'vitest';
import { pgProvider, sqlProvider } from '../../src/index.js';
import { contractSeeds, providerContract, toContractUser } from '../contract/provider-contract.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { drizzleProvider, kyselyProvider } from '../support/orm-lookups.js';
import { seedUsers } from '../support/users-table.js';

// One database for this file, seeded once; every provider kind reads it.
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('contract');
  await seedUsers(db.pool, await contractSeeds());
});
afterAll(async () => {
  await db?.drop();
});

describe('SQL providers against real PostgreSQL', () => {
  providerContract('pgProvider', async () => ({
    provider: pgProvider({
      toUser: toContractUser,
      name: 'pg',
      connectionString: db.url,
      table: 'users',
    }),
  }));
  providerContract('sqlProvider', async () => ({
    provider: sqlProvider({
      toUser: toContractUser,
      name: 'sql',
      executor: db.pool,
      table: 'users',
    }),
  }));
  providerContract('sqlProvider, schema-qualified table', async () => ({
    provider: sqlProvider({
      toUser: toContractUser,
      name: 'sql-qualified',
      executor: db.pool,
      table: 'public.users',
    }),
  }));
  providerContract('ormProvider (Drizzle)', async () => ({ provider: drizzleProvider(db.pool) }));
  providerContract('ormProvider (Kysely)', async () => ({ provider: kyselyProvider(db.pool) }));
});
