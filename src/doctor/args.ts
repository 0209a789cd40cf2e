import { parseArgs } from 'node:util';
import { ConfigError } from '../errors/errors.js';

/** Default of `--timeout-ms`: the connect timeout, and the statement timeout of each check. */
export const DEFAULT_TIMEOUT_MS = 5000;
const MAX_TIMEOUT_MS = 600_000;

/** The command line, parsed. */
export type DoctorArgs =
  | { readonly help: true }
  | {
      readonly help: false;
      readonly configFile: string | undefined;
      readonly json: boolean;
      readonly timeoutMs: number;
      readonly canaryIdentifier: string | undefined;
    };

/** What `--help` prints. */
export const USAGE = `Usage: resilient-auth doctor [--config <file.json>] [--json] [--timeout-ms <n>] [--canary-identifier <id>]

Checks each configured PostgreSQL provider before a deploy: connect, privileges,
schema, index, writable, canary. Exit code 0: all passed; 1: a check failed;
2: the doctor could not run (bad flags or config).

Options:
  --config <file>            JSON config (default: resilient-auth.config.json here if present,
                             else the environment: DATABASE_URL, RESILIENT_AUTH_TABLE,
                             RESILIENT_AUTH_COLUMNS, RESILIENT_AUTH_CANARY_IDENTIFIER)
  --json                     one JSON document on stdout: { ok, checks: [...] }
  --timeout-ms <n>           connect and statement timeout in ms (default ${DEFAULT_TIMEOUT_MS})
  --canary-identifier <id>   log in with this test account; its password comes from
                             RESILIENT_AUTH_CANARY_PASSWORD (never from a flag)
  -h, --help                 show this help
`;

/**
 * Parses `doctor [flags]` strictly: an unknown flag, a missing value, an
 * unknown subcommand or a bad number throws a `ConfigError` naming it.
 */
export function parseDoctorArgs(argv: readonly string[]): DoctorArgs {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (error) {
    // node's messages name the flag ("Unknown option '--jsn'. To specify a positional
    // argument starting with a '-', ..."): the first sentence is the problem.
    throw new ConfigError('arguments', (error as Error).message.split('. To specify')[0] ?? '');
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { help: true };
  const [command, ...rest] = positionals;
  if (command === undefined) throw new ConfigError('arguments', 'missing the command: doctor');
  if (command !== 'doctor') throw new ConfigError('arguments', `unknown command "${command}"`);
  if (rest.length > 0) throw new ConfigError('arguments', `unexpected argument "${rest[0]}"`);
  return {
    help: false,
    configFile: nonEmpty('--config', values.config),
    json: values.json === true,
    timeoutMs: timeout(values['timeout-ms']),
    canaryIdentifier: nonEmpty('--canary-identifier', values['canary-identifier']),
  };
}

function parseOptions(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      json: { type: 'boolean' },
      'timeout-ms': { type: 'string' },
      'canary-identifier': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function nonEmpty(flag: string, value: string | undefined): string | undefined {
  if (value !== undefined && value.trim() === '') throw new ConfigError(flag, 'must not be empty');
  return value;
}

function timeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT_MS;
  const ms = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 1 || ms > MAX_TIMEOUT_MS) {
    throw new ConfigError(
      '--timeout-ms',
      `expected a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}, got "${value}"`,
    );
  }
  return ms;
}
