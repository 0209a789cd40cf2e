import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors/errors.js';
import { type ColumnMapping, resolveColumns } from '../providers/columns.js';
import { type TableName, tableName } from '../schema/table-name.js';

/** The config file the doctor reads from the working directory when `--config` is not given. */
export const DEFAULT_CONFIG_FILE = 'resilient-auth.config.json';

/** Where the canary password comes from when the config does not say. */
export const DEFAULT_CANARY_PASSWORD_ENV = 'RESILIENT_AUTH_CANARY_PASSWORD';

/** The column mapping, resolved: every field with its column, defaults filled in. */
export type ResolvedColumns = ReturnType<typeof resolveColumns>;

/** One provider the doctor checks: a PostgreSQL users table reached by a connection string. */
export interface DoctorTarget {
  readonly name: string;
  /** Secret: never printed. */
  readonly connectionString: string;
  /** Where the connection string came from, for hints: `DATABASE_URL` or `providers[0].connectionString`. */
  readonly connectionSource: string;
  /** The config path of this provider, for hints: `providers[0]` (or `env` without a file). */
  readonly configPath: string;
  readonly table: TableName;
  readonly columns: ColumnMapping | undefined;
  readonly fields: ResolvedColumns;
  readonly caseInsensitive: boolean;
  readonly expectWritable: boolean;
}

/** The canary account: a real login with it proves the whole path. */
export interface CanaryAccount {
  readonly identifier: string;
  /** Secret: never printed. */
  readonly password: string;
}

/** What the doctor checks, from a config file or the environment. */
export interface DoctorConfig {
  /** `resilient-auth.config.json` (its path) or `environment`. */
  readonly source: string;
  readonly providers: readonly DoctorTarget[];
  readonly canary: CanaryAccount | undefined;
  /** Why the canary is off although half of it is set, for the SKIP line. */
  readonly canaryNote: string | undefined;
}

/** What {@link loadDoctorConfig} reads besides the file. */
export interface ConfigSources {
  /** `--config`; without it, {@link DEFAULT_CONFIG_FILE} in `cwd` if present, else the environment. */
  readonly configFile: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** `--canary-identifier`: overrides the config's and the environment's. */
  readonly canaryIdentifier: string | undefined;
}

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');

const providerSchema = z
  .strictObject({
    name: z.string().min(1).max(100),
    connectionString: z.string().min(1).optional(),
    connectionStringEnv: envName.optional(),
    table: z.string().min(1),
    columns: z.record(z.string().min(1), z.string().min(1).max(63)).optional(),
    caseInsensitive: z.boolean().optional(),
    expectWritable: z.boolean().optional(),
  })
  .refine((p) => (p.connectionString === undefined) !== (p.connectionStringEnv === undefined), {
    message: 'give exactly one of connectionString and connectionStringEnv',
  });

const fileSchema = z.strictObject({
  $schema: z.string().optional(),
  providers: z.array(providerSchema).min(1, 'configure at least one provider'),
  canary: z
    .strictObject({
      identifier: z.string().min(1).optional(),
      passwordEnv: envName.optional(),
    })
    .optional(),
});

type FileConfig = z.infer<typeof fileSchema>;

/** `providers.0.table` as a JSON path: `providers[0].table`. */
function jsonPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`))
    .join('');
}

/**
 * Reads the doctor's config: the file given (or the default file in `cwd`),
 * else the environment (`DATABASE_URL`, `RESILIENT_AUTH_TABLE`,
 * `RESILIENT_AUTH_COLUMNS`, `RESILIENT_AUTH_CASE_INSENSITIVE`,
 * `RESILIENT_AUTH_EXPECT_WRITABLE`, `RESILIENT_AUTH_CANARY_IDENTIFIER`).
 * Passwords come from the environment only. Throws a `ConfigError` naming the
 * file and the JSON path (or the variable) of the first problem.
 */
export async function loadDoctorConfig(sources: ConfigSources): Promise<DoctorConfig> {
  const file = await readConfigFile(sources);
  return file === undefined
    ? fromEnv(sources)
    : fromFile(file.path, parseFile(file.path, file.text), sources);
}

async function readConfigFile(
  sources: ConfigSources,
): Promise<{ path: string; text: string } | undefined> {
  const path = resolve(sources.cwd, sources.configFile ?? DEFAULT_CONFIG_FILE);
  try {
    return { path, text: await readFile(path, 'utf8') };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (sources.configFile === undefined && code === 'ENOENT') return undefined;
    throw new ConfigError('--config', `cannot read ${path} (${String(code ?? error)})`);
  }
}

function parseFile(path: string, text: string): FileConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // JSON.parse may quote the text around the error, which can hold a connection string: only say where.
    const position = /position (\d+)/.exec(String(error))?.[1];
    throw new ConfigError(path, `is not valid JSON${where(text, position)}`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = jsonPath(issue?.path ?? []);
    throw new ConfigError(`${path}: ${at === '' ? '(root)' : at}`, issue?.message ?? 'invalid');
  }
  return parsed.data;
}

function where(text: string, position: string | undefined): string {
  if (position === undefined) return '';
  const before = text.slice(0, Number(position)).split('\n');
  return ` (line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1})`;
}

function fromFile(path: string, file: FileConfig, sources: ConfigSources): DoctorConfig {
  const names = new Set<string>();
  const providers = file.providers.map((p, i): DoctorTarget => {
    const at = `providers[${i}]`;
    if (names.has(p.name)) {
      throw new ConfigError(
        `${path}: ${at}.name`,
        `"${p.name}" is used twice: names must be unique`,
      );
    }
    names.add(p.name);
    const connectionString = p.connectionString ?? sources.env[p.connectionStringEnv ?? ''];
    if (connectionString === undefined || connectionString === '') {
      throw new ConfigError(
        `${path}: ${at}.connectionStringEnv`,
        `environment variable ${p.connectionStringEnv} is not set`,
      );
    }
    return target({
      name: p.name,
      connectionString,
      connectionSource: p.connectionStringEnv ?? `${at}.connectionString`,
      configPath: at,
      table: p.table,
      columns: p.columns,
      caseInsensitive: p.caseInsensitive ?? true,
      expectWritable: p.expectWritable ?? false,
      optionPrefix: `${path}: ${at}`,
    });
  });
  const passwordEnv = file.canary?.passwordEnv ?? DEFAULT_CANARY_PASSWORD_ENV;
  return {
    source: path,
    providers,
    ...canaryFrom(
      sources.canaryIdentifier ?? file.canary?.identifier,
      passwordEnv,
      sources.env,
      sources.canaryIdentifier === undefined ? `${path}: canary.identifier` : '--canary-identifier',
    ),
  };
}

function fromEnv(sources: ConfigSources): DoctorConfig {
  const { env } = sources;
  const connectionString = env.DATABASE_URL;
  if (connectionString === undefined || connectionString === '') {
    throw new ConfigError(
      'config',
      `no providers configured: give --config <file.json>, create ${DEFAULT_CONFIG_FILE} here, or set DATABASE_URL`,
    );
  }
  const provider = target({
    name: 'primary',
    connectionString,
    connectionSource: 'DATABASE_URL',
    configPath: 'env',
    table: env.RESILIENT_AUTH_TABLE || 'users',
    columns: parseColumnsEnv(env.RESILIENT_AUTH_COLUMNS),
    caseInsensitive: booleanEnv(env, 'RESILIENT_AUTH_CASE_INSENSITIVE', true),
    expectWritable: booleanEnv(env, 'RESILIENT_AUTH_EXPECT_WRITABLE', false),
    optionPrefix: 'env',
  });
  return {
    source: 'environment',
    providers: [provider],
    ...canaryFrom(
      sources.canaryIdentifier ?? (env.RESILIENT_AUTH_CANARY_IDENTIFIER || undefined),
      DEFAULT_CANARY_PASSWORD_ENV,
      env,
      sources.canaryIdentifier === undefined
        ? 'RESILIENT_AUTH_CANARY_IDENTIFIER'
        : '--canary-identifier',
    ),
  };
}

function target(p: {
  name: string;
  connectionString: string;
  connectionSource: string;
  configPath: string;
  table: string;
  columns: ColumnMapping | undefined;
  caseInsensitive: boolean;
  expectWritable: boolean;
  optionPrefix: string;
}): DoctorTarget {
  const tableOption = p.configPath === 'env' ? 'RESILIENT_AUTH_TABLE' : `${p.optionPrefix}.table`;
  let fields: ResolvedColumns;
  try {
    fields = resolveColumns(p.columns);
  } catch (error) {
    const option = p.configPath === 'env' ? 'RESILIENT_AUTH_COLUMNS' : p.optionPrefix;
    throw new ConfigError(option, (error as Error).message);
  }
  return {
    name: p.name,
    connectionString: p.connectionString,
    connectionSource: p.connectionSource,
    configPath: p.configPath,
    table: tableName(p.table, tableOption),
    columns: p.columns,
    fields,
    caseInsensitive: p.caseInsensitive,
    expectWritable: p.expectWritable,
  };
}

function canaryFrom(
  identifier: string | undefined,
  passwordEnv: string,
  env: Readonly<Record<string, string | undefined>>,
  identifierSource: string,
): Pick<DoctorConfig, 'canary' | 'canaryNote'> {
  const password = env[passwordEnv] || undefined;
  if (identifier === undefined) {
    return {
      canary: undefined,
      canaryNote:
        password === undefined
          ? undefined
          : `${passwordEnv} is set but no canary identifier is: set RESILIENT_AUTH_CANARY_IDENTIFIER, canary.identifier or --canary-identifier`,
    };
  }
  if (password === undefined) {
    throw new ConfigError(
      identifierSource,
      `a canary identifier is set, but its password is not: set ${passwordEnv}`,
    );
  }
  return { canary: { identifier, password }, canaryNote: undefined };
}

/** `identifier=email,passwordHash=password_hash` into a column mapping. */
export function parseColumnsEnv(value: string | undefined): ColumnMapping | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const mapping: Record<string, string> = {};
  for (const pair of value.split(',')) {
    const match = /^\s*([A-Za-z_][\w]*)\s*=\s*(\S+)\s*$/.exec(pair);
    if (!match) {
      throw new ConfigError(
        'RESILIENT_AUTH_COLUMNS',
        `expected field=column pairs separated by commas (identifier=email,passwordHash=password_hash), got "${pair}"`,
      );
    }
    mapping[match[1] as string] = match[2] as string;
  }
  return mapping;
}

function booleanEnv(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: boolean,
): boolean {
  const value = env[name]?.trim().toLowerCase();
  if (value === undefined || value === '') return fallback;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ConfigError(name, `expected true or false, got "${env[name]}"`);
}
