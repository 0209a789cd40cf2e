import type pg from 'pg';
import type { ResilientAuth } from 'resilient-auth';

export function createAuth(options: {
  pool: pg.Pool;
  connectionString: string;
  alert: (line: string) => void;
}): ResilientAuth<{ id: number; email: string }>;
