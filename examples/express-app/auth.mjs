// The authenticator: three paths to the same users table, and alerts.
import { eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { bigint, boolean, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { createResilientAuth, ormProvider, pgProvider, sqlProvider } from 'resilient-auth';

// The app's Drizzle model of the users table.
const users = pgTable('users', {
  id: bigint('id', { mode: 'number' }).primaryKey(),
  email: text('email').notNull(),
  passwordHash: text('password_hash').notNull(),
  isActive: boolean('is_active').notNull(),
  mustChangePassword: boolean('must_change_password').notNull(),
  lockedUntil: timestamp('locked_until', { withTimezone: true }),
});

/**
 * The app's own login path: a lookup through its Drizzle model (the demo uses
 * it too). When the model drifts from the table, this is what breaks.
 *
 * @param {import('pg').Pool} pool
 */
export function drizzleUsersProvider(pool) {
  const db = drizzle(pool);
  return ormProvider({
    name: 'orm',
    check: () => db.execute(sql`select 1`),
    async findAccount(email) {
      const [u] = await db
        .select()
        .from(users)
        .where(eq(sql`lower(${users.email})`, email.toLowerCase()))
        .limit(1);
      return u
        ? {
            user: { id: u.id, email: u.email },
            passwordHash: u.passwordHash,
            active: u.isActive,
            mustChangePassword: u.mustChangePassword,
            lockedUntil: u.lockedUntil,
          }
        : null;
    },
  });
}

/**
 * Login through the ORM first; when it breaks (a model that drifted from the
 * table, a hung pool), raw SQL on the app's pool; then a small pool of the
 * library's own, for when the app's pool is the problem.
 *
 * @param {{ pool: import('pg').Pool, connectionString: string, alert: (line: string) => void }} options
 */
export function createAuth({ pool, connectionString, alert }) {
  const toUser = (row) => ({ id: Number(row.id), email: String(row.email) });
  return createResilientAuth({
    providers: [
      drizzleUsersProvider(pool),
      sqlProvider({ name: 'raw-sql', executor: pool, table: 'users', toUser }),
      pgProvider({ name: 'own-pool', connectionString, table: 'users', poolSize: 2, toUser }),
    ],
    // Brute-force protection. With more than one app instance, count in PostgreSQL or
    // Redis instead: { store: { type: 'postgres', pool } } (README, "Brute-force protection").
    throttle: { store: { type: 'memory' } },
    hooks: {
      onDegraded: (e) =>
        alert(
          `login degraded: served by ${e.provider} (${e.failures.map((f) => `${f.provider} ${f.code ?? f.kind}`).join(', ')})`,
        ),
      onRecovered: (e) => alert(`login recovered: ${e.provider} serves again`),
      onUnavailable: (e) =>
        alert(
          `login unavailable: ${e.failures.map((f) => `${f.provider} ${f.code ?? f.kind}`).join(', ')}`,
        ),
      onSchemaDrift: (e) => alert(`schema drift in ${e.provider}: ${e.message}`),
    },
  });
}
