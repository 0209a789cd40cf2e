import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuthProvider,
  bcryptVerifier,
  createResilientAuth,
  hashPassword,
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

export async function contractSeeds(): Promise<ContractSeed[]> {
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

/** Builds the provider under test over the seeds; `cleanup` runs after the suite. */
export type ContractSetup = (seeds: readonly ContractSeed[]) => Promise<{
  provider: AuthProvider<{ id: number; email: string }>;
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
    let provider: AuthProvider<{ id: number; email: string }>;
    let cleanup: (() => Promise<void>) | undefined;
    let seeds: ContractSeed[];

    beforeAll(async () => {
      seeds = await contractSeeds();
      ({ provider, cleanup } = await setup(seeds));
    });
    afterAll(async () => {
      await provider?.close?.();
      await cleanup?.();
    });

    it('finds an account by identifier, with every field mapped', async () => {
      const account = await provider.findAccount('ada@example.com', { signal: signal() });
      expect(account).toMatchObject({
        user: expect.objectContaining({ id: 1, email: 'ada@example.com' }),
        passwordHash: seeds[0]?.passwordHash,
        active: true,
      });
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
      ).resolves.toMatchObject({ ok: true, provider: provider.name, user: { id: 1 } });
      await expect(
        auth.authenticate({ identifier: 'ada@example.com', password: 'wrong' }),
      ).resolves.toEqual({ ok: false, reason: 'invalid_credentials' });
      await expect(
        auth.authenticate({ identifier: 'locked@example.com', password: CONTRACT_PASSWORD }),
      ).resolves.toMatchObject({ ok: false, reason: 'account_locked' });
    });
  });
}
