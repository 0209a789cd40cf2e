import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TIMEOUT_MS, parseDoctorArgs } from '../../src/doctor/args.js';
import { loadDoctorConfig, parseColumnsEnv } from '../../src/doctor/config.js';
import { Redactor } from '../../src/doctor/redactor.js';
import { formatLine, formatSummary, jsonReport } from '../../src/doctor/report.js';
import { connectionPassword } from '../../src/doctor/session.js';
import { isConfigError } from '../../src/index.js';
import { loadPg } from '../../src/providers/pg-driver.js';
import { thrownBy } from '../support/fakes.js';

let cwd: string;
beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'resilient-auth-doctor-unit-'));
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const load = (env: Record<string, string>, configFile?: string, canaryIdentifier?: string) =>
  loadDoctorConfig({ configFile, env, cwd, canaryIdentifier });

describe('parseDoctorArgs', () => {
  it('reads the flags, with the default timeout', () => {
    expect(parseDoctorArgs(['doctor'])).toEqual({
      help: false,
      configFile: undefined,
      json: false,
      timeoutMs: DEFAULT_TIMEOUT_MS,
      canaryIdentifier: undefined,
    });
    expect(
      parseDoctorArgs([
        'doctor',
        '--config=c.json',
        '--json',
        '--timeout-ms',
        '250',
        '--canary-identifier',
        'c@example.com',
      ]),
    ).toEqual({
      help: false,
      configFile: 'c.json',
      json: true,
      timeoutMs: 250,
      canaryIdentifier: 'c@example.com',
    });
    expect(parseDoctorArgs(['-h'])).toEqual({ help: true });
  });

  it.each([
    [['doctor', '--timeout-ms', '0'], '--timeout-ms'],
    [['doctor', '--timeout-ms', '1.5'], '--timeout-ms'],
    [['doctor', '--timeout-ms', '600001'], '--timeout-ms'],
    [['doctor', '--config', ' '], '--config'],
    [['doctor', 'extra'], 'arguments'],
    [['doctor', '--json=yes'], 'arguments'],
  ])('refuses %j with a ConfigError naming %s', (argv, option) => {
    const error = thrownBy(() => parseDoctorArgs(argv));
    expect(isConfigError(error) && error.option).toBe(option);
  });
});

describe('parseColumnsEnv', () => {
  it('reads field=column pairs', () => {
    expect(parseColumnsEnv(' identifier = login , passwordHash=pw ')).toEqual({
      identifier: 'login',
      passwordHash: 'pw',
    });
    expect(parseColumnsEnv('')).toBeUndefined();
    expect(parseColumnsEnv(undefined)).toBeUndefined();
  });

  it('refuses anything else, naming the variable', () => {
    expect(() => parseColumnsEnv('identifier=login,pw')).toThrow(
      'RESILIENT_AUTH_COLUMNS: expected field=column pairs separated by commas (identifier=email,passwordHash=password_hash), got "pw"',
    );
  });
});

describe('loadDoctorConfig', () => {
  it('from the environment: one provider "primary" with the defaults', async () => {
    const config = await load({ DATABASE_URL: 'postgres://app@db/app' });
    expect(config.source).toBe('environment');
    expect(config.canary).toBeUndefined();
    expect(config.providers).toHaveLength(1);
    expect(config.providers[0]).toMatchObject({
      name: 'primary',
      connectionSource: 'DATABASE_URL',
      table: { schema: undefined, name: 'users', display: 'users' },
      caseInsensitive: true,
      expectWritable: false,
    });
  });

  it('from the environment: table, columns, switches and the canary', async () => {
    const config = await load({
      DATABASE_URL: 'postgres://app@db/app',
      RESILIENT_AUTH_TABLE: 'auth.accounts',
      RESILIENT_AUTH_COLUMNS: 'identifier=login',
      RESILIENT_AUTH_CASE_INSENSITIVE: 'false',
      RESILIENT_AUTH_EXPECT_WRITABLE: '1',
      RESILIENT_AUTH_CANARY_IDENTIFIER: 'c@example.com',
      RESILIENT_AUTH_CANARY_PASSWORD: 'pw-1234',
    });
    const [provider] = config.providers;
    expect(provider?.table.display).toBe('auth.accounts');
    expect(provider?.fields).toContainEqual({ field: 'identifier', column: 'login' });
    expect(provider).toMatchObject({ caseInsensitive: false, expectWritable: true });
    expect(config.canary).toEqual({ identifier: 'c@example.com', password: 'pw-1234' });
  });

  it('notes a canary password without an identifier instead of failing', async () => {
    const config = await load({
      DATABASE_URL: 'postgres://app@db/app',
      RESILIENT_AUTH_CANARY_PASSWORD: 'pw-1234',
    });
    expect(config.canary).toBeUndefined();
    expect(config.canaryNote).toContain(
      'RESILIENT_AUTH_CANARY_PASSWORD is set but no canary identifier is',
    );
  });

  it('prefers the default config file in the working directory to the environment', async () => {
    await writeFile(
      join(cwd, 'resilient-auth.config.json'),
      JSON.stringify({
        providers: [{ name: 'direct', connectionStringEnv: 'AUTH_DB', table: 'users' }],
        canary: { identifier: 'c@example.com', passwordEnv: 'CANARY_PW' },
      }),
    );
    try {
      const config = await load(
        {
          DATABASE_URL: 'postgres://other@db/x',
          AUTH_DB: 'postgres://app@db/app',
          CANARY_PW: 'pw-1234',
        },
        undefined,
        'flag@example.com',
      );
      expect(config.source).toBe(join(cwd, 'resilient-auth.config.json'));
      expect(config.providers.map((p) => [p.name, p.connectionString, p.connectionSource])).toEqual(
        [['direct', 'postgres://app@db/app', 'AUTH_DB']],
      );
      expect(config.canary).toEqual({ identifier: 'flag@example.com', password: 'pw-1234' });
    } finally {
      await rm(join(cwd, 'resilient-auth.config.json'));
    }
  });

  it('refuses two providers with one name, naming the JSON path', async () => {
    const file = join(cwd, 'twice.json');
    const provider = { name: 'a', connectionString: 'postgres://x@db/app', table: 'users' };
    await writeFile(file, JSON.stringify({ providers: [provider, provider] }));
    await expect(load({}, file)).rejects.toThrow(
      `${file}: providers[1].name: "a" is used twice: names must be unique`,
    );
  });
});

describe('Redactor', () => {
  it('removes the secrets it was given, as typed and URL-encoded, and what safeMessage removes', () => {
    const redactor = new Redactor();
    redactor.add('p@ss/word!');
    redactor.add('abc'); // too short to search for
    expect(
      redactor.redact('p@ss/word! p%40ss%2Fword! postgres://u:other@h/db password=hunter22 abc'),
    ).toBe('*** *** postgres://u:***@h/db password=*** abc');
  });
});

describe('examples/doctor.config.json', () => {
  it('is a valid config', async () => {
    const config = await loadDoctorConfig({
      configFile: 'examples/doctor.config.json',
      env: {
        DATABASE_URL: 'postgres://app@db/app',
        LEGACY_DATABASE_URL: 'postgres://app@legacy/app',
        RESILIENT_AUTH_CANARY_PASSWORD: 'pw-1234',
      },
      cwd: process.cwd(),
      canaryIdentifier: undefined,
    });
    expect(config.providers.map((p) => [p.name, p.table.display, p.caseInsensitive])).toEqual([
      ['primary', 'users', true],
      ['legacy', 'legacy.accounts', false],
    ]);
    expect(config.canary?.identifier).toBe('canary@example.com');
  });
});

describe('a canary identifier without its password', () => {
  it('names where the identifier came from', async () => {
    await expect(
      load({ DATABASE_URL: 'postgres://app@db/app' }, undefined, 'c@example.com'),
    ).rejects.toThrow(
      '--canary-identifier: a canary identifier is set, but its password is not: set RESILIENT_AUTH_CANARY_PASSWORD',
    );
  });
});

describe('the report', () => {
  const result = {
    provider: 'primary',
    check: 'connect',
    status: 'fail',
    message: 'cannot connect to postgres://app:Db-Secret-1@db/app with Canary-Secret-2',
    hint: 'Db-Secret-1 is wrong',
    durationMs: 3,
  } as const;

  it('redacts the connection password and the canary password from lines and JSON', () => {
    const redactor = new Redactor();
    redactor.add(connectionPassword(loadPg(), 'postgres://app:Db-Secret-1@db/app'));
    redactor.add('Canary-Secret-2');
    expect(formatLine(result, redactor)).toBe(
      'FAIL connect    primary: cannot connect to postgres://app:***@db/app with *** - hint: *** is wrong',
    );
    const json = JSON.stringify(jsonReport([result], redactor));
    expect(json).not.toContain('Secret');
    expect(jsonReport([result], redactor)).toMatchObject({
      ok: false,
      checks: [{ hint: '*** is wrong' }],
    });
    expect(formatSummary([result, { ...result, status: 'skip' }])).toBe(
      '0 passed, 1 failed, 1 skipped',
    );
  });
});
