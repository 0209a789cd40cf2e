import { describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_COLUMNS,
  memoryProvider,
  ormProvider,
  type Queryable,
  type Row,
  simulatedOutage,
  sqlProvider,
} from '../../src/index.js';
import { pgError } from '../support/fakes.js';

const signal = () => new AbortController().signal;

/**
 * A Queryable that answers information_schema with the given columns and the
 * lookup with the given rows (or error), and records every statement.
 */
function fakeDatabase(columns: readonly string[], lookup: () => Promise<Row[]>) {
  const statements: string[] = [];
  const executor: Queryable = {
    async query(text) {
      statements.push(text);
      if (text.includes('information_schema')) {
        return {
          rows: columns.map((name, i) => ({
            column_name: name,
            data_type: 'text',
            is_nullable: 'YES',
            ordinal_position: i + 1,
          })),
        };
      }
      return { rows: await lookup() };
    },
  };
  return { executor, statements };
}

const REFERENCE = Object.values(DEFAULT_COLUMNS);

describe('SQL providers: mapping rows (no database needed for these)', () => {
  it('refuses an empty column name in the mapping, naming the field', () => {
    const { executor } = fakeDatabase(REFERENCE, async () => []);
    expect(() => sqlProvider({ executor, table: 'users', columns: { id: '' } })).toThrow(
      'columns.id: must be a non-empty column name',
    );
  });

  it('puts only the id, the identifier and extra fields into user: never the hash or account state', async () => {
    const { executor } = fakeDatabase([...REFERENCE, 'display_name'], async () => [
      {
        id: '7',
        identifier: 'ada@example.com',
        passwordHash: '$2b$04$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0',
        active: true,
        mustChangePassword: false,
        lockedUntil: null,
        displayName: 'Ada',
      },
    ]);
    const provider = sqlProvider({
      executor,
      table: 'users',
      columns: { displayName: 'display_name' },
    });
    const account = await provider.findAccount('ada@example.com', { signal: signal() });
    expect(account?.user).toStrictEqual({ id: '7', email: 'ada@example.com', displayName: 'Ada' });
  });

  it('treats a hash that is not a string as malformed (empty), and a lock that is not a date as locked', async () => {
    const { executor } = fakeDatabase(REFERENCE, async () => [
      { id: 1, identifier: 'a@x', passwordHash: null, active: true, lockedUntil: 'not a date' },
    ]);
    const account = await sqlProvider({ executor, table: 'users' }).findAccount('a@x', {
      signal: signal(),
    });
    expect(account?.passwordHash).toBe('');
    expect(Number.isNaN(account?.lockedUntil?.getTime())).toBe(true);
  });

  it('says which optional columns it left out, all of them, in one notice', async () => {
    const { executor } = fakeDatabase(['id', 'email', 'password_hash'], async () => []);
    const notify = vi.fn();
    await sqlProvider({ executor, table: 'users' }).findAccount('a@x', {
      signal: signal(),
      notify,
    });
    expect(notify).toHaveBeenCalledWith(
      expect.objectContaining({
        message:
          'table users lacks optional column(s) "is_active" (active), "must_change_password" (mustChangePassword), "locked_until" (lockedUntil); left out of the lookup',
      }),
    );
  });

  it('passes any other error of the lookup through at once, without reading the schema again', async () => {
    let calls = 0;
    const { executor, statements } = fakeDatabase(REFERENCE, async () => {
      calls++;
      throw pgError('08006', 'connection failure');
    });
    const provider = sqlProvider({ executor, table: 'users' });
    await expect(provider.findAccount('a@x', { signal: signal() })).rejects.toMatchObject({
      code: '08006',
    });
    expect(calls).toBe(1);
    expect(statements.filter((s) => s.includes('information_schema'))).toHaveLength(1);
  });
});

describe('memoryProvider', () => {
  it('simulates a refused connection by default', async () => {
    expect(simulatedOutage()).toMatchObject({
      message: 'memory provider: simulated outage (connection refused)',
      code: 'ECONNREFUSED',
    });
    const provider = memoryProvider({ accounts: [] });
    provider.fail();
    await expect(provider.findAccount('a@x', { signal: signal() })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });

  it('takes bcrypt costs from 4 to 31, and needs a password or a hash per account', () => {
    expect(() => memoryProvider({ hashCost: 31, accounts: [] })).not.toThrow();
    expect(() => memoryProvider({ hashCost: 32, accounts: [] })).toThrow(
      'hashCost: must be an integer from 4 to 31',
    );
    expect(() => memoryProvider({ accounts: [{ identifier: 'a@x', user: {} }] })).toThrow(
      'accounts.0: give password or passwordHash',
    );
  });

  it('fails exactly the number of times asked, then answers', async () => {
    const provider = memoryProvider({ accounts: [] });
    provider.fail(pgError('08006'), 2);
    const ctx = { signal: signal() };
    await expect(provider.findAccount('a@x', ctx)).rejects.toMatchObject({ code: '08006' });
    await expect(provider.check?.(ctx)).rejects.toMatchObject({ code: '08006' });
    await expect(provider.findAccount('a@x', ctx)).resolves.toBeNull();
  });

  it('ends a delay early when the signal aborts, and refuses an aborted signal at once', async () => {
    const provider = memoryProvider({ accounts: [] });
    provider.delay(60_000);
    const controller = new AbortController();
    const pending = provider.findAccount('a@x', { signal: controller.signal });
    controller.abort(new Error('attempt timed out'));
    await expect(pending).rejects.toThrow('attempt timed out');
    await expect(provider.findAccount('a@x', { signal: controller.signal })).rejects.toThrow(
      'attempt timed out',
    );
  });
});

describe('ormProvider', () => {
  it('unwraps the innermost error that carries a code, so failures show the SQLSTATE', async () => {
    const driver = pgError('42703', 'column "must_change_password" does not exist');
    const orm = Object.assign(new Error('Failed query: select ... params: ada@example.com'), {
      cause: Object.assign(new Error('wrapped again'), { cause: driver }),
    });
    const provider = ormProvider({
      findAccount: async () => {
        throw orm;
      },
      check: async () => {
        throw orm;
      },
    });
    await expect(provider.findAccount('ada@example.com', { signal: signal() })).rejects.toBe(
      driver,
    );
    await expect(provider.check?.({ signal: signal() })).rejects.toBe(driver);
  });

  it('keeps a wrapper that has its own code, and the error itself when nothing has one', async () => {
    const inner = new Error('no code here');
    const coded = Object.assign(new Error('with code'), { code: 'ECONNRESET', cause: inner });
    const plain = new Error('plain', { cause: new Error('also plain') });
    const failing = (error: Error) =>
      ormProvider({
        findAccount: async () => {
          throw error;
        },
      }).findAccount('a@x', { signal: signal() });
    await expect(failing(coded)).rejects.toBe(coded);
    await expect(failing(plain)).rejects.toBe(plain);
  });

  it('has a check() only when given one, and it resolves when the probe does', async () => {
    expect(ormProvider({ findAccount: async () => null }).check).toBeUndefined();
    const probe = vi.fn(async () => 'pong');
    const provider = ormProvider({ findAccount: async () => null, check: probe });
    await expect(provider.check?.({ signal: signal() })).resolves.toBeUndefined();
    expect(probe).toHaveBeenCalledTimes(1);
  });
});
