import { expect } from 'vitest';
import { FaultProxy } from '../../examples/support/fault-proxy.mjs';
import {
  bcryptVerifier,
  createResilientAuth,
  pgProvider,
  type ResilientAuth,
  type ThrottleOptions,
} from '../../src/index.js';
import {
  CONTRACT_PASSWORD,
  type ContractUser,
  contractSeeds,
  toContractUser,
} from '../contract/provider-contract.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { recordingLogger } from './fakes.js';
import { recordingHooks } from './fixtures.js';
import { seedUsers } from './users-table.js';

// What every framework adapter is tested against: two PostgreSQL providers
// over the same accounts (the primary reads `users`, the fallback a replica
// table `users_replica`), both through a TCP fault proxy, and a throttle that
// blocks after 3 wrong passwords in a row. Adapter tests post `email` and
// `password`, so a 400 must name `email`, not `identifier`.

export const PASSWORD = CONTRACT_PASSWORD;
export const FIELDS = { identifierField: 'email', passwordField: 'password' } as const;
/** The throttle's consecutive limit and block in the fixture. */
export const THROTTLE_LIMIT = 3;
export const THROTTLE_BLOCK_S = 60;

export interface LoginFixture {
  readonly auth: ResilientAuth<ContractUser>;
  readonly recorded: ReturnType<typeof recordingHooks>;
  readonly logger: ReturnType<typeof recordingLogger>;
  /** `ALTER TABLE users RENAME`: the primary fails with 42P01, the fallback serves. */
  renamePrimaryTable(): Promise<void>;
  restorePrimaryTable(): Promise<void>;
  /** Resets every connection to the database, open and new: no provider can answer. */
  allDown(): Promise<void>;
  allUp(): Promise<void>;
  close(): Promise<void>;
}

/** A database of its own (named after `label`), seeded, with an auth over it. */
export async function startLoginFixture(
  label: string,
  options: { readonly throttle?: Omit<ThrottleOptions, 'store'> } = {},
): Promise<LoginFixture> {
  const db: TestDatabase = await createTestDatabase(label);
  await seedUsers(db.pool, await contractSeeds());
  await db.pool.query('CREATE TABLE users_replica AS TABLE users');
  const target = new URL(db.url);
  const proxy = await FaultProxy.start({ host: target.hostname, port: Number(target.port) });
  const recorded = recordingHooks();
  const logger = recordingLogger();
  const url = proxy.url(db.url);
  const auth = createResilientAuth<ContractUser>({
    providers: [
      pgProvider({
        name: 'primary',
        connectionString: url,
        table: 'users',
        toUser: toContractUser,
      }),
      pgProvider({
        name: 'replica',
        connectionString: url,
        table: 'users_replica',
        toUser: toContractUser,
      }),
    ],
    verifier: bcryptVerifier({ threads: 0 }),
    hooks: recorded.hooks,
    logger,
    throttle: {
      consecutive: { limit: THROTTLE_LIMIT, blockMs: THROTTLE_BLOCK_S * 1000 },
      ...options.throttle,
      store: { type: 'memory' },
    },
  });
  return {
    auth,
    recorded,
    logger,
    renamePrimaryTable: async () => {
      await db.pool.query('ALTER TABLE users RENAME TO users_moved');
    },
    restorePrimaryTable: async () => {
      await db.pool.query('ALTER TABLE users_moved RENAME TO users');
    },
    allDown: () => proxy.set({ type: 'reset' }),
    allUp: () => proxy.set({ type: 'pass' }),
    close: async () => {
      await auth.close();
      await proxy.close();
      await db.drop();
    },
  };
}

/** One row of the mapping table, as a request body and the answer it must get. */
export interface MappingCase {
  readonly row: string;
  readonly body: Record<string, unknown>;
  readonly status: 200 | 400 | 401 | 403 | 429;
  readonly error?: string;
  /** For 400: the body field the answer must name. */
  readonly field?: string;
  /** For 429: the answer carries Retry-After. */
  readonly retryAfter?: boolean;
}

const as = (email: unknown, password: unknown = PASSWORD) => ({ email, password });

/**
 * The rows every adapter must answer the same way. `rate_limited` and
 * `unavailable` need state and are separate tests in each adapter's file.
 */
export const MAPPING_CASES: readonly MappingCase[] = [
  { row: 'ok', body: as('ada@example.com'), status: 200 },
  {
    row: 'wrong password',
    body: as('rotate@example.com', 'wrong'),
    status: 401,
    error: 'invalid_credentials',
  },
  {
    row: 'unknown identifier',
    body: as('nobody@example.com'),
    status: 401,
    error: 'invalid_credentials',
  },
  {
    row: 'disabled account',
    body: as('disabled@example.com'),
    status: 403,
    error: 'account_disabled',
  },
  {
    row: 'locked account',
    body: as('locked@example.com'),
    status: 429,
    error: 'account_locked',
    retryAfter: true,
  },
  {
    row: 'password as a number',
    body: as('ada@example.com', 12345678),
    status: 400,
    error: 'invalid_input',
    field: 'password',
  },
  {
    row: 'password as an array',
    body: as('ada@example.com', [PASSWORD]),
    status: 400,
    error: 'invalid_input',
    field: 'password',
  },
  {
    row: 'a 10 KB password',
    body: as('ada@example.com', 'x'.repeat(10 * 1024)),
    status: 400,
    error: 'invalid_input',
    field: 'password',
  },
  {
    row: 'a NUL byte in the identifier',
    body: as('ada@example.com\u0000'),
    status: 400,
    error: 'invalid_input',
    field: 'email',
  },
  {
    row: 'no identifier',
    body: { password: PASSWORD },
    status: 400,
    error: 'invalid_input',
    field: 'email',
  },
  {
    row: 'identifier as an object',
    body: as({ $ne: null }),
    status: 400,
    error: 'invalid_input',
    field: 'email',
  },
];

/** The generic message each refusal carries (one per reason; the README's mapping table). */
export const MESSAGES: Readonly<Record<string, string>> = {
  invalid_credentials: 'Invalid identifier or password.',
  account_disabled: 'This account is disabled.',
  account_locked: 'This account is locked. Try again later.',
  rate_limited: 'Too many login attempts. Try again later.',
  unavailable: 'Login is temporarily unavailable. Try again shortly.',
};

/** The error body the mapping table prescribes for `c` (undefined for 200). */
export function expectedBody(c: MappingCase): Record<string, string> | undefined {
  if (c.status === 200) return undefined;
  if (c.field) return { error: 'invalid_input', message: `Invalid ${c.field}.`, field: c.field };
  const error = c.error ?? '';
  return { error, message: MESSAGES[error] ?? '' };
}

// What must never reach a client: provider names, tables, SQL states, errno codes, hashes.
const INTERNALS = [
  /primary/i,
  /replica/i,
  /users/i,
  /42P01/,
  /ECONN/,
  /\$2[aby]\$/,
  /postgres/i,
  /provider/i,
];

/** Fails when a response body says which provider failed, or why. */
export function expectNoInternals(text: string): void {
  for (const pattern of INTERNALS) expect(text).not.toMatch(pattern);
}
