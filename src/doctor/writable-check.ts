import { type Finding, fail, pass, skip } from './check-result.js';
import type { DoctorTarget } from './config.js';
import type { DoctorSession } from './session.js';

const WRITABLE_SQL = `SELECT pg_is_in_recovery() AS in_recovery,
  current_setting('transaction_read_only') AS read_only,
  current_setting('default_transaction_read_only') AS default_read_only`;

/**
 * With `expectWritable`: the server is not a standby in recovery, and new
 * sessions are not read-only (`default_transaction_read_only` set on the
 * database, the role or the server makes them so).
 */
export async function writableCheck(
  session: DoctorSession,
  target: DoctorTarget,
): Promise<Finding> {
  if (!target.expectWritable) return skip('not expected (expectWritable is off)');
  const [row] = await session.query(WRITABLE_SQL);
  const primary = `point ${target.connectionSource} at the primary (with several hosts, add target_session_attrs=read-write)`;
  if (row?.in_recovery === true) {
    return fail('the server is a standby in recovery (pg_is_in_recovery() is true)', primary);
  }
  if (row?.read_only === 'on') {
    return fail(
      `sessions are read-only (transaction_read_only = on, default_transaction_read_only = ${String(row.default_read_only)})`,
      `if this is the primary, find who set it: ALTER DATABASE <db> RESET default_transaction_read_only (or ALTER ROLE ... RESET); else ${primary}`,
    );
  }
  return pass('the server is a primary and sessions are writable');
}
