import { isConfigError } from '../errors/errors.js';
import type { Logger } from '../hooks/logger.js';
import { loadPg } from '../providers/pg-driver.js';
import { parseDoctorArgs, USAGE } from './args.js';
import type { CheckResult } from './check-result.js';
import { type DoctorConfig, loadDoctorConfig } from './config.js';
import { checkProvider } from './provider-checks.js';
import { Redactor } from './redactor.js';
import { formatLine, formatSummary, jsonReport } from './report.js';
import { connectionPassword } from './session.js';

/** Something text can be written to: `process.stdout`, or a test's buffer. */
export interface DoctorWriter {
  write(text: string): unknown;
}

/** Where the doctor writes: the report to `stdout`, problems running it to `stderr`. */
export interface DoctorIo {
  readonly stdout: DoctorWriter;
  readonly stderr: DoctorWriter;
}

/** Options of {@link runDoctor}. */
export interface RunDoctorOptions {
  /** Where the default config file is looked for, and a relative `--config` resolved. Default: `process.cwd()`. */
  readonly cwd?: string;
}

/** Exit codes of `resilient-auth doctor`. */
export const DOCTOR_EXIT = Object.freeze({ ok: 0, failed: 1, cannotRun: 2 });

/**
 * `resilient-auth doctor`: checks every configured PostgreSQL provider
 * (connect, privileges, schema, index, writable, canary) and reports a line
 * per check, or one JSON document with `--json`. Returns the exit code: 0
 * when no check failed, 1 when one did, 2 when it could not run (bad flags,
 * unreadable or invalid config, no providers). Never prints a password or a
 * connection string; closes every connection before it returns.
 *
 * @example
 * ```ts
 * const code = await runDoctor(['doctor', '--json'], process.env, { stdout: process.stdout, stderr: process.stderr });
 * process.exit(code);
 * ```
 */
export async function runDoctor(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: DoctorIo,
  options: RunDoctorOptions = {},
): Promise<number> {
  const redactor = new Redactor();
  const cannotRun = (message: string, usage = false) => {
    io.stderr.write(
      `resilient-auth doctor: ${redactor.redact(message)}\n${usage ? `\n${USAGE}` : ''}`,
    );
    return DOCTOR_EXIT.cannotRun;
  };

  let args: ReturnType<typeof parseDoctorArgs>;
  try {
    args = parseDoctorArgs(argv);
  } catch (error) {
    return cannotRun((error as Error).message, true);
  }
  if (args.help) {
    io.stdout.write(USAGE);
    return DOCTOR_EXIT.ok;
  }

  let config: DoctorConfig;
  let driver: ReturnType<typeof loadPg>;
  try {
    config = await loadDoctorConfig({
      configFile: args.configFile,
      env,
      cwd: options.cwd ?? process.cwd(),
      canaryIdentifier: args.canaryIdentifier,
    });
    driver = loadPg();
  } catch (error) {
    if (isConfigError(error)) return cannotRun(error.message);
    throw error;
  }
  for (const provider of config.providers) {
    redactor.add(connectionPassword(driver, provider.connectionString));
  }
  redactor.add(config.canary?.password);
  redactor.add(config.canary?.identifier);

  const logger: Logger = {
    warn: (message) => io.stderr.write(`resilient-auth doctor: ${redactor.redact(message)}\n`),
    error: (message) => io.stderr.write(`resilient-auth doctor: ${redactor.redact(message)}\n`),
  };
  const results: CheckResult[] = [];
  if (!args.json) {
    const count = config.providers.length;
    io.stdout.write(
      `resilient-auth doctor: ${count} provider${count === 1 ? '' : 's'} from ${config.source}, timeout ${args.timeoutMs} ms\n`,
    );
  }
  for (const target of config.providers) {
    await checkProvider(target, config, {
      driver,
      timeoutMs: args.timeoutMs,
      logger,
      onResult: (result) => {
        results.push(result);
        if (!args.json) io.stdout.write(`${formatLine(result, redactor)}\n`);
      },
    });
  }
  const report = jsonReport(results, redactor);
  io.stdout.write(
    args.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatSummary(results)}\n`,
  );
  return report.ok ? DOCTOR_EXIT.ok : DOCTOR_EXIT.failed;
}
