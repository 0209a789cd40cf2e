import { BrokenCircuitError } from 'cockatiel';
import { describe, expect, it } from 'vitest';
import { safeMessage } from '../../src/errors/classify.js';
import {
  errorCode,
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
});
