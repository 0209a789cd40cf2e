import { bigint, boolean, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { applyReferenceSchema, type Queryable } from '../../src/index.js';
import type { ContractSeed } from '../contract/provider-contract.js';

/** The app's Drizzle model of the reference users table. */
export const users = pgTable('users', {
  id: bigint('id', { mode: 'number' }).primaryKey(),
  email: text('email').notNull(),
  passwordHash: text('password_hash').notNull(),
  isActive: boolean('is_active').notNull(),
  mustChangePassword: boolean('must_change_password').notNull(),
  lockedUntil: timestamp('locked_until', { withTimezone: true }),
});

/** Creates the reference table and inserts the seeds, in order (ids 1, 2, ...). */
export async function seedUsers(
  executor: Queryable,
  seeds: readonly ContractSeed[],
): Promise<void> {
  await applyReferenceSchema(executor);
  for (const s of seeds) {
    await executor.query(
      'INSERT INTO users (email, password_hash, is_active, must_change_password, locked_until) VALUES ($1, $2, $3, $4, $5)',
      [s.identifier, s.passwordHash, s.active, s.mustChangePassword, s.lockedUntil],
    );
  }
}
