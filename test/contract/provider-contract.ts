import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuthProvider,
  bcryptVerifier,
  createResilientAuth,
  hashPassword,
  type UserRow,
} from '../../src/index.js';

/** The accounts every provider under contract must serve. */
export interface ContractSeed {
  readonly identifier: string;
  readonly passwordHash: string;
  readonly user: { readonly id: number; readonly email: string };
  readonly active: boolean;
  readonly mustChangePassword: boolean;
  readonly lockedUntil: Date | null;
}

export const CONTRACT_PASSWORD = 'contract-Pa55';

let seeds: Promise<ContractSeed[]> | undefined;

/** The seeds, hashed once per test file so a store seeded with them and the suite agree. */
export function contractSeeds(): Promise<ContractSeed[]> {
  seeds ??= makeSeeds();
  return seeds;
}

async function makeSeeds(): Promise<ContractSeed[]> {
  const passwordHash = await hashPassword(CONTRACT_PASSWORD, 4);
  const seed = (id: number, email: string, extra: Partial<ContractSeed> = {}): ContractSeed => ({
    identifier: email,
    passwordHash,
    user: { id, email },
    active: true,
    mustChangePassword: false,
    lockedUntil: null,
    ...extra,
  });
  return [
    seed(1, 'ada@example.com'),
    seed(2, 'disabled@example.com', { active: false }),
    seed(3, 'rotate@example.com', { mustChangePassword: true }),
    seed(4, 'locked@example.com', { lockedUntil: new Date('2099-01-01T00:00:00Z') }),
    seed(5, "o'brien@example.com"),
    seed(6, 'zoë@example.com'),
  ];
}

/** What every provider under contract returns as `user`. */
export interface ContractUser {
  readonly id: number | string;
  readonly email: string;
}

/** The SQL providers' `toUser` for the contract's users table. */
export const toContractUser = (row: UserRow): ContractUser => ({
  id: Number(row.id),
  email: String(row.email),
});

/** Builds the provider under test over the seeds; `cleanup` runs after the suite. */
export type ContractSetup = (seeds: readonly ContractSeed[]) => Promise<{
  provider: AuthProvider<ContractUser>;
  cleanup?: () => Promise<void>;
}>;

const INJECTIONS = [
  "' OR 1=1 --",
  "ada@example.com' --",
  "ada@example.com' OR '1'='1",
  '" OR ""="',
  "'; DROP TABLE users; --",
  'ada@example.com/*',
  '%',
  '_da@example.com',
  'ada@example.com\u2019',
  'ａｄａ@example.com',
];

const signal = () => new AbortController().signal;

/** The behaviour every provider promises. Run it for each provider kind. */
export function providerContract(kind: string, setup: ContractSetup): void {
  describe(`provider contract: ${kind}`, () => {
    let provider: AuthProvider<ContractUser>;
    let cleanup: (() => Promise<void>) | undefined;
    let seeded: ContractSeed[];

    beforeAll(async () => {
      seeded = await contractSeeds();
      ({ provider, cleanup } = await setup(seeded));
    });
    afterAll(async () => {
      await provider?.close?.();
      await cleanup?.();
    });

    it('finds an account by identifier, with every field mapped', async () => {
      const account = await provider.findAccount('ada@example.com', { signal: signal() });
      expect(account).toMatchObject({
        user: expect.objectContaining({ email: 'ada@example.com' }),
        passwordHash: seeded[0]?.passwordHash,
        active: true,
      });
      // bigint ids come back from pg as strings; the value is what matters.
      expect(Number(account?.user.id)).toBe(1);
      expect(account?.mustChangePassword ?? false).toBe(false);
      expect(account?.lockedUntil ?? null).toBeNull();
    });

    it('maps active, mustChangePassword and lockedUntil', async () => {
      const disabled = await provider.findAccount('disabled@example.com', { signal: signal() });
      const rotate = await provider.findAccount('rotate@example.com', { signal: signal() });
      const locked = await provider.findAccount('locked@example.com', { signal: signal() });
      expect(disabled?.active).toBe(false);
      expect(rotate?.mustChangePassword).toBe(true);
      expect(locked?.lockedUntil).toEqual(new Date('2099-01-01T00:00:00Z'));
    });

    it('answers null, not an error, for an unknown identifier', async () => {
      await expect(
        provider.findAccount('nobody@example.com', { signal: signal() }),
      ).resolves.toBeNull();
    });

    it('matches identifiers case-insensitively, quotes and non-ASCII included', async () => {
      for (const identifier of ['ADA@Example.COM', "O'Brien@example.com", 'ZOË@example.com']) {
        const account = await provider.findAccount(identifier, { signal: signal() });
        expect(account?.user.email.toLowerCase()).toBe(identifier.toLowerCase());
      }
    });

    it.each(INJECTIONS)('injection attempt %j only ever misses', async (identifier) => {
      await expect(provider.findAccount(identifier, { signal: signal() })).resolves.toBeNull();
    });

    it('passes the checks of check() when healthy', async () => {
      if (provider.check)
        await expect(provider.check({ signal: signal() })).resolves.toBeUndefined();
    });

    it('serves a full login through createResilientAuth', async () => {
      const auth = createResilientAuth({
        providers: [provider],
        verifier: bcryptVerifier({ threads: 0 }),
      });
      await expect(
        auth.authenticate({ identifier: 'ada@example.com', password: CONTRACT_PASSWORD }),
      ).resolves.toMatchObject({
        ok: true,
        provider: provider.name,
        user: { email: 'ada@example.com' },
      });
      await expect(
        auth.authenticate({ identifier: 'ada@example.com', password: 'wrong' }),
      ).resolves.toEqual({ ok: false, reason: 'invalid_credentials' });
      await expect(
        auth.authenticate({ identifier: 'locked@example.com', password: CONTRACT_PASSWORD }),
      ).resolves.toMatchObject({ ok: false, reason: 'account_locked' });
    });
  });
}
