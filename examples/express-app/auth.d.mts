import type pg from 'pg';
import type { AuthProvider, ResilientAuth } from 'resilient-auth';

export function createAuth(options: {
  pool: pg.Pool;
  connectionString: string;
  alert: (line: string) => void;
}): ResilientAuth<{ id: number; email: string }>;

export function drizzleUsersProvider(pool: pg.Pool): AuthProvider<{ id: number; email: string }>;
