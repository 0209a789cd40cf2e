import { classify, failureHint } from '../errors/classify.js';
import type { FailureKind } from '../errors/errors.js';
import type { Logger } from '../hooks/logger.js';
import type { PgDriver } from '../providers/pg-driver.js';
import { canaryCheck } from './canary-check.js';
import {
  CHECK_NAMES,
  type CheckName,
  type CheckResult,
  type Finding,
  fail,
  pass,
  skip,
} from './check-result.js';
import type { DoctorConfig, DoctorTarget } from './config.js';
import { indexCheck } from './index-check.js';
import { privilegesCheck } from './privileges-check.js';
import { schemaCheck } from './schema-check.js';
import { type DoctorSession, openSession, UnparsableConnectionString } from './session.js';
import { readTableCatalog, type TableCatalog } from './table-catalog.js';
import { writableCheck } from './writable-check.js';

/** Options of {@link checkProvider}. */
export interface ProviderCheckOptions {
  readonly driver: PgDriver;
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Called with each result as soon as it is known. */
  readonly onResult: (result: CheckResult) => void;
}

/**
 * Runs every check on one provider, in {@link CHECK_NAMES} order, on one
 * connection that is always closed. When `connect` fails, the rest are
 * skipped; a check that throws fails with the error's kind, redacted message
 * and hint, and the next one still runs.
 */
export async function checkProvider(
  target: DoctorTarget,
  config: DoctorConfig,
  options: ProviderCheckOptions,
): Promise<void> {
  const report = (check: CheckName, finding: Finding, startedAt: number) =>
    options.onResult({
      provider: target.name,
      check,
      ...finding,
      durationMs: Math.round(performance.now() - startedAt),
    });

  let started = performance.now();
  let session: DoctorSession | undefined;
  try {
    session = await openSession(options.driver, target.connectionString, options.timeoutMs);
    const [row] = await session.query(
      "SELECT 1 AS one, current_setting('server_version') AS version, current_user AS role",
    );
    const ms = Math.round(performance.now() - started);
    report(
      'connect',
      pass(
        `connected as ${String(row?.role)} and answered SELECT 1 in ${ms} ms (PostgreSQL ${String(row?.version)})`,
      ),
      started,
    );
  } catch (error) {
    // Connected, but the first query failed (timed out, say): hang up all the same.
    await session?.close();
    report('connect', connectFailure(error, target, options.timeoutMs), started);
    for (const check of CHECK_NAMES.slice(1)) {
      report(check, skip('not run: cannot connect'), performance.now());
    }
    return;
  }

  try {
    const run = async (check: CheckName, body: () => Promise<Finding>): Promise<Finding> => {
      started = performance.now();
      let finding: Finding;
      try {
        finding = await body();
      } catch (error) {
        finding = thrown(error);
      }
      report(check, finding, started);
      return finding;
    };
    let catalog: TableCatalog | undefined;
    const privileges = await run('privileges', async () => {
      catalog = await readTableCatalog(session, target);
      return privilegesCheck(catalog, target);
    });
    await run('schema', () => schemaCheck(session, target, privileges.status !== 'fail'));
    await run('index', async () =>
      catalog === undefined
        ? skip('not run: the table could not be read')
        : indexCheck(session, target, catalog),
    );
    await run('writable', () => writableCheck(session, target));
    await session.close();
    await run('canary', () =>
      canaryCheck(target, config.canary, config.canaryNote, {
        timeoutMs: options.timeoutMs,
        logger: options.logger,
      }),
    );
  } finally {
    await session.close();
  }
}

/** A failed connect, with what to do about it. */
function connectFailure(error: unknown, target: DoctorTarget, timeoutMs: number): Finding {
  if (error instanceof UnparsableConnectionString) {
    return fail(
      `the connection string in ${target.connectionSource} is not a valid PostgreSQL connection string`,
      'use postgres://user:password@host:5432/database (percent-encode special characters in the password)',
    );
  }
  const { kind, code, message } = classify(error);
  const hints: Partial<Record<FailureKind, string>> = {
    authentication: `the server refused the credentials: check the user and password in ${target.connectionSource}`,
    connection: `check that the server is up and reachable from here, and the host and port in ${target.connectionSource}`,
    configuration: `check the database name in ${target.connectionSource}`,
  };
  const timedOut = /timeout/i.test(message) && kind !== 'authentication';
  return fail(
    `${timedOut ? `no answer within ${timeoutMs} ms` : kindLabel(kind)}${code === undefined ? '' : ` (${code})`}: ${message}`,
    timedOut
      ? `the server is slow or unreachable: check the network, or raise --timeout-ms`
      : (hints[kind] ?? failureHint(kind)),
  );
}

function kindLabel(kind: FailureKind): string {
  return kind === 'authentication' ? 'authentication failed' : `cannot connect (${kind})`;
}

/** A check that threw: its failure kind, redacted message and hint. */
function thrown(error: unknown): Finding {
  const { kind, code, message } = classify(error);
  return fail(`${kind}${code === undefined ? '' : ` (${code})`}: ${message}`, failureHint(kind));
}
