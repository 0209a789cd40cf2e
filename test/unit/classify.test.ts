import { BrokenCircuitError } from 'cockatiel';
import { describe, expect, it } from 'vitest';
import { safeMessage } from '../../src/errors/classify.js';
import {
  AuthUnavailableError,
  ConfigError,
  errorCode,
  failureHint,
  failureKind,
  isTransientError,
  ResilientAuthError,
  SchemaMismatchError,
} from '../../src/index.js';
import { pgError } from '../support/fakes.js';

describe('failure classification (shared by the retry policy and the SQL providers)', () => {
  it.each([
    ['08006', true, 'connection'],
    ['08001', true, 'connection'],
    ['53300', true, 'connection'],
    ['57P01', true, 'connection'],
    ['57P02', true, 'connection'],
    ['57P03', true, 'connection'],
    ['ECONNREFUSED', true, 'connection'],
    ['ECONNRESET', true, 'connection'],
    ['ETIMEDOUT', true, 'connection'],
    ['42P01', false, 'schema'],
    ['42703', false, 'schema'],
    ['28P01', false, 'authentication'],
    ['3D000', false, 'configuration'],
    ['25006', false, 'read_only'],
    ['57014', false, 'timeout'],
    ['23505', false, 'other'],
  ])('%s: transient %s, kind %s', (code, transient, kind) => {
    expect(isTransientError(pgError(code))).toBe(transient);
    expect(failureKind(pgError(code))).toBe(kind);
  });

  it('tells pool exhaustion from a database that is down', () => {
    const exhausted = new Error('timeout exceeded when trying to connect');
    const connect = new Error('Connection terminated due to connection timeout');
    expect(isTransientError(exhausted)).toBe(true);
    expect(failureKind(exhausted)).toBe('pool_exhausted');
    expect(failureKind(connect)).toBe('connection');
  });

  it('finds codes inside AggregateError and along cause, and prefers a SQLSTATE', () => {
    const dualStack = new AggregateError([pgError('ECONNREFUSED'), pgError('ECONNREFUSED')], '');
    expect(errorCode(dualStack)).toBe('ECONNREFUSED');
    expect(isTransientError(dualStack)).toBe(true);
    expect(errorCode(new Error('wrapped', { cause: pgError('42703') }))).toBe('42703');
    expect(errorCode(new SchemaMismatchError('users', 'email', 'x'))).toBe('42703');
    expect(errorCode(new SchemaMismatchError('users', undefined, 'x'))).toBe('42P01');
    expect(failureKind(new ResilientAuthError('PROVIDER_TIMEOUT', 'x'))).toBe('timeout');
    expect(errorCode('a string')).toBeUndefined();
  });

  it('names the addresses of a refused dual-stack connect, whose AggregateError has no message', () => {
    const refused = new AggregateError(
      [
        pgError('ECONNREFUSED', 'connect ECONNREFUSED ::1:5432'),
        pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
      ],
      '',
    );
    expect(safeMessage(refused)).toBe(
      'connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432',
    );
  });

  it('agrees with itself: an open breaker is code CIRCUIT_OPEN and kind circuit_open', () => {
    const open = new BrokenCircuitError();
    expect([errorCode(open), failureKind(open), isTransientError(open)]).toEqual([
      'CIRCUIT_OPEN',
      'circuit_open',
      false,
    ]);
  });

  it('redacts credentials from messages', () => {
    expect(safeMessage(new Error('connect postgres://app:hunter2@db:5432/x failed'))).toBe(
      'connect postgres://app:***@db:5432/x failed',
    );
    expect(safeMessage(new Error("bad password='hunter2' for user"))).toBe(
      'bad password=*** for user',
    );
    expect(safeMessage('host=db password=hunter2 user=app')).toBe('host=db password=*** user=app');
  });

  it('redacts password hashes, as an ORM error quoting its parameters would carry them', () => {
    const bcrypt = '$2b$10$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0';
    const argon2 = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$ZGlnZXN0ZGlnZXN0ZGlnZXN0';
    expect(
      safeMessage(
        new Error(`Failed query: update users set hash = $1 where id = $2\nparams: ${bcrypt},1`),
      ),
    ).toBe('Failed query: update users set hash = $1 where id = $2\nparams: [hash],1');
    expect(safeMessage(`params: "${argon2}", 7`)).toBe('params: "[hash]", 7');
    expect(safeMessage('$2y$04$short and $scrypt$ln=15,r=8,p=1$c2FsdA$ZGln')).toBe(
      '[hash] and [hash]',
    );
  });
});

describe('classification, case by case', () => {
  it.each(['EPIPE', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'])(
    '%s is a transient connection failure',
    (code) => {
      expect([failureKind(pgError(code)), isTransientError(pgError(code))]).toEqual([
        'connection',
        true,
      ]);
    },
  );

  it.each([
    ['DEADLINE_EXCEEDED', 'timeout'],
    ['PROVIDER_TIMEOUT', 'timeout'],
    ['CONFIG_INVALID', 'configuration'],
    ['AMBIGUOUS_ACCOUNT', 'configuration'],
    ['INVALID_ANSWER', 'configuration'],
    ['CLOSED', 'other'],
    ['0800', 'other'],
  ] as const)('library code %s is kind %s', (code, kind) => {
    expect(failureKind(pgError(code))).toBe(kind);
  });

  it("reads pg's client-side query timeout by its message", () => {
    expect(failureKind(new Error('Query read timeout'))).toBe('timeout');
    expect(failureKind(new Error('Query read timeout exceeded'))).toBe('other');
  });

  it('classifies what is not an Error without throwing', () => {
    for (const thrown of [null, undefined, 42, 'relation missing', Symbol('x')]) {
      expect(failureKind(thrown)).toBe('other');
      expect(errorCode(thrown)).toBeUndefined();
    }
    expect(safeMessage(42)).toBe('non-error value thrown');
    expect(safeMessage('relation missing')).toBe('relation missing');
  });

  it('skips empty codes and keeps looking: sqlState, then code, then inner errors, then cause', () => {
    expect(errorCode(Object.assign(new Error('x'), { sqlState: '', code: '42703' }))).toBe('42703');
    expect(errorCode(Object.assign(new Error('x'), { code: '', cause: pgError('08006') }))).toBe(
      '08006',
    );
    expect(errorCode(new AggregateError([new Error('no code'), pgError('ECONNRESET')], ''))).toBe(
      'ECONNRESET',
    );
    const loop = new Error('caused by itself');
    (loop as { cause?: unknown }).cause = loop;
    expect(errorCode(loop)).toBeUndefined();
    expect(errorCode(Object.assign(new Error('x'), { sqlState: 7, code: 7 }))).toBeUndefined();
  });

  it('names inner messages of an AggregateError, skipping what is not an Error', () => {
    expect(
      safeMessage(
        new AggregateError(['not an error', pgError('E', 'connect ECONNREFUSED ::1:5432')], ''),
      ),
    ).toBe('connect ECONNREFUSED ::1:5432');
    expect(safeMessage(Object.assign(new Error(''), { name: 'Boom' }))).toBe('Boom');
  });

  it('gives every kind its own hint', () => {
    expect(
      Object.fromEntries(
        (
          [
            'connection',
            'pool_exhausted',
            'timeout',
            'schema',
            'authentication',
            'read_only',
            'configuration',
            'circuit_open',
            'other',
          ] as const
        ).map((kind) => [kind, failureHint(kind)]),
      ),
    ).toEqual({
      connection: 'check that the database is up and reachable from this host',
      pool_exhausted:
        'every pooled connection is busy: find what holds them, or raise the pool size',
      timeout: 'the path is slow or hung: check the database load and the network',
      schema:
        'the table or a column is missing: run the migration, or fix the table/columns mapping',
      authentication: "the database refused the app's credentials: check the user and password",
      read_only: 'connected to a read-only standby: point the provider at the primary',
      configuration: 'check the provider options and the data (database name, unique identifier)',
      circuit_open: 'skipped while its breaker is open; see its last failure in health()',
      other: 'see the error and its cause',
    });
  });

  it.each([
    ['password = hunter2 user=app', 'password=*** user=app'],
    ["password='two words' user=app", 'password=*** user=app'],
    ['pwd="two words" host=db', 'pwd=*** host=db'],
    ['passwd=  spaced', 'passwd=***'],
  ])('redacts %j', (raw, redacted) => {
    expect(safeMessage(new Error(raw))).toBe(redacted);
  });

  it('names each error class so logs and stack traces say what it is', () => {
    expect(new ResilientAuthError('CLOSED', 'x').name).toBe('ResilientAuthError');
    expect(new AuthUnavailableError('x', []).name).toBe('AuthUnavailableError');
    expect(new ConfigError('mode', 'x').name).toBe('ConfigError');
    expect(new SchemaMismatchError('users', undefined, 'x')).toMatchObject({
      name: 'SchemaMismatchError',
      code: 'SCHEMA_MISMATCH',
    });
  });
});
