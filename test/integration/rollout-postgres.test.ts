import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyReferenceSchema,
  bcryptVerifier,
  createResilientAuth,
  hashPassword,
  pgProvider,
  type RollbackOptions,
  rollout,
} from '../../src/index.js';
import { toContractUser } from '../contract/provider-contract.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { recordingLogger } from '../support/fakes.js';
import { recordingHooks } from '../support/fixtures.js';

const PASSWORD = 'rollout-Pa55';
const emails = Array.from({ length: 30 }, (_, i) => `user-${i}@example.com`);
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('rollout');
  await applyReferenceSchema(db.pool);
  const hash = await hashPassword(PASSWORD, 4);
  for (const email of emails) {
    await db.pool.query(
      'INSERT INTO users (email, password_hash, is_active, must_change_password) VALUES ($1, $2, true, false)',
      [email, hash],
    );
  }
});
afterAll(async () => {
  await db?.drop();
});

/** The control reads `users`; the candidate reads the copy `table` (made fresh for each test). */
async function migration(table: string, options: { shadow: boolean; rollback: RollbackOptions }) {
  await db.pool.query(`CREATE TABLE ${table} AS SELECT * FROM users`);
  const recorded = recordingHooks();
  const logger = recordingLogger();
  const auth = createResilientAuth({
    providers: rollout({
      name: table,
      control: [
        pgProvider({
          name: 'users',
          connectionString: db.url,
          table: 'users',
          toUser: toContractUser,
        }),
      ],
      candidate: [
        pgProvider({ name: table, connectionString: db.url, table, toUser: toContractUser }),
      ],
      percent: 100,
      shadow: options.shadow,
      rollback: options.rollback,
    }),
    verifier: bcryptVerifier({ threads: 0 }),
    hooks: recorded.hooks,
    logger,
  });
  return { auth, logger, ...recorded };
}

/** Waits until `check` passes: the shadow compares in the background. */
async function eventually(check: () => void): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      check();
      return;
    } catch (error) {
      if (i > 200) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

describe('a rollout onto a copied table, on PostgreSQL', () => {
  it('shadow: agrees on every copied user, then reports a disabled row and a changed hash', async () => {
    const { auth, of } = await migration('accounts_shadow', {
      shadow: true,
      // Two mismatches in 32 are to be reported, not rolled back at the first.
      rollback: { mismatchRate: 0.5 },
    });
    for (const email of emails) {
      await expect(
        auth.authenticate({ identifier: email, password: PASSWORD }),
      ).resolves.toMatchObject({
        ok: true,
        provider: 'users',
      });
    }
    await eventually(() =>
      expect(auth.health().rollout?.window).toMatchObject({ compared: 30, mismatches: 0 }),
    );

    await db.pool.query('UPDATE accounts_shadow SET is_active = false WHERE email = $1', [
      emails[0],
    ]);
    await db.pool.query('UPDATE accounts_shadow SET password_hash = $2 WHERE email = $1', [
      emails[1],
      await hashPassword('not the same', 4),
    ]);
    for (const email of emails.slice(0, 2)) {
      await expect(
        auth.authenticate({ identifier: email, password: PASSWORD }),
      ).resolves.toMatchObject({ ok: true });
    }
    await eventually(() => expect(of('onShadowMismatch')).toHaveLength(2));
    expect(of('onShadowMismatch')).toEqual([
      expect.objectContaining({
        identifier: emails[0],
        control: { outcome: 'authenticated', provider: 'users', userId: '1' },
        candidate: { outcome: 'account_disabled', provider: 'accounts_shadow', userId: '1' },
      }),
      expect.objectContaining({
        identifier: emails[1],
        candidate: expect.objectContaining({ outcome: 'invalid_credentials' }),
      }),
    ]);
    expect(of('onAttempt')).toHaveLength(32);
    await auth.close();
  });

  it('live: a column dropped from the new table sends logins back to the control, then rolls back', async () => {
    const { auth, of, logger } = await migration('accounts_live', {
      shadow: false,
      rollback: { minimumCalls: 5 },
    });
    await expect(
      auth.authenticate({ identifier: emails[0]!, password: PASSWORD }),
    ).resolves.toMatchObject({
      provider: 'accounts_live',
    });
    await db.pool.query('ALTER TABLE accounts_live DROP COLUMN password_hash');
    for (const email of emails.slice(0, 6)) {
      await expect(
        auth.authenticate({ identifier: email, password: PASSWORD }),
      ).resolves.toMatchObject({
        ok: true,
        provider: 'users',
        degraded: false,
      });
    }
    expect(of('onRollback')).toEqual([
      expect.objectContaining({ rollout: 'accounts_live', reason: 'failure_rate', calls: 5 }),
    ]);
    expect(of('onProviderFailure')).toContainEqual(
      expect.objectContaining({ provider: 'accounts_live', code: '42703', kind: 'schema' }),
    );
    const lookups = of('onLookup').length;
    await auth.authenticate({ identifier: emails[7]!, password: PASSWORD });
    expect(of('onLookup').slice(lookups)).toEqual([expect.objectContaining({ provider: 'users' })]);
    expect(auth.health()).toMatchObject({ status: 'healthy', rollout: { state: 'rolled_back' } });
    expect(logger.lines).toEqual([
      expect.objectContaining({
        level: 'error',
        message: expect.stringContaining(
          'rollout "accounts_live" rolled back: candidate failure rate',
        ),
      }),
    ]);
    await auth.close();
  });
});
