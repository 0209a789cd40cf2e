import { eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { type Generated, Kysely, sql as ksql, PostgresDialect } from 'kysely';
import type pg from 'pg';
import { type AuthProvider, ormProvider } from '../../src/index.js';
import type { ContractUser } from '../contract/provider-contract.js';
import { users } from './users-table.js';

/** The app's ORM path through Drizzle: what the original incident's login did. */
export function drizzleProvider(pool: pg.Pool, name = 'drizzle'): AuthProvider<ContractUser> {
  const db = drizzle(pool);
  return ormProvider({
    name,
    async findAccount(identifier) {
      const [u] = await db
        .select()
        .from(users)
        .where(eq(sql`lower(${users.email})`, identifier.toLowerCase()))
        .limit(1);
      if (!u) return null;
      return {
        user: { id: u.id, email: u.email },
        passwordHash: u.passwordHash,
        active: u.isActive,
        mustChangePassword: u.mustChangePassword,
        lockedUntil: u.lockedUntil,
      };
    },
    check: () => db.execute(sql`select 1`),
  });
}

interface KyselyDb {
  users: {
    id: Generated<string>;
    email: string;
    password_hash: string;
    is_active: boolean;
    must_change_password: boolean;
    locked_until: Date | null;
  };
}

/** The same lookup through Kysely, the second ORM the issue asks for. */
export function kyselyProvider(pool: pg.Pool, name = 'kysely'): AuthProvider<ContractUser> {
  const db = new Kysely<KyselyDb>({ dialect: new PostgresDialect({ pool }) });
  return ormProvider({
    name,
    async findAccount(identifier) {
      const u = await db
        .selectFrom('users')
        .select([
          'id',
          'email',
          'password_hash',
          'is_active',
          'must_change_password',
          'locked_until',
        ])
        .where(ksql`lower(email)`, '=', identifier.toLowerCase())
        .executeTakeFirst();
      if (!u) return null;
      return {
        user: { id: u.id, email: u.email },
        passwordHash: u.password_hash,
        active: u.is_active,
        mustChangePassword: u.must_change_password,
        lockedUntil: u.locked_until,
      };
    },
    check: () => ksql`select 1`.execute(db),
  });
}
