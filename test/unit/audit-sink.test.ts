import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AuditDropEvent, AuditSinkOptions } from '../../src/audit/audit-options.js';
import { AUDIT_COLUMNS } from '../../src/audit/audit-schema.js';
import { auditSink } from '../../src/audit/audit-sink.js';
import { RowQueue } from '../../src/audit/row-queue.js';
import type { AttemptEvent, UnavailableEvent } from '../../src/index.js';
import { isConfigError } from '../../src/index.js';
import { pgError, recordingLogger } from '../support/fakes.js';

// Buffer mechanics only, on a fake pool and fake timers; the SQL itself runs
// against a real PostgreSQL in test/integration/audit.test.ts.

type Row = Record<(typeof AUDIT_COLUMNS)[number], unknown>;

/**
 * A pool that records each INSERT as rows; `fail(error)` makes queries reject,
 * `hold()` makes the next one wait for `release()`, `refuse(row => ...)`
 * makes a statement holding such a row reject as data (23502).
 */
function fakePool() {
  const attempts: Row[][] = [];
  const written: Row[] = [];
  let error: unknown;
  let held: { release: () => void } | undefined;
  let refused: ((row: Row) => boolean) | undefined;
  const query = vi.fn(async (text: string, values: unknown[] = []) => {
    expect(text).toMatch(/^INSERT INTO "[^"]+" \(at, outcome, .*, duration_ms\) VALUES \(\$1, /);
    const rows: Row[] = [];
    for (let i = 0; i < values.length; i += AUDIT_COLUMNS.length) {
      rows.push(Object.fromEntries(AUDIT_COLUMNS.map((c, j) => [c, values[i + j]])) as Row);
    }
    attempts.push(rows);
    if (held === undefined && error === undefined && refused === undefined) {
      written.push(...rows);
      return { rows: [] };
    }
    if (held !== undefined) {
      await new Promise<void>((resolve) => {
        held = { release: resolve };
      });
    }
    if (error !== undefined) throw error;
    if (refused && rows.some(refused)) throw pgError('23502', 'null value violates not-null');
    written.push(...rows);
    return { rows: [] };
  });
  return {
    pool: { query },
    attempts,
    written,
    identifiers: () => written.map((r) => r.identifier),
    fail: (e: unknown = pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')) => {
      error = e;
    },
    recover: () => {
      error = undefined;
    },
    hold: () => {
      held = { release: () => undefined };
    },
    release: () => {
      const h = held;
      held = undefined;
      h?.release();
    },
    refuse: (predicate: (row: Row) => boolean) => {
      refused = predicate;
    },
  };
}

const attempt = (n: number, over: Partial<AttemptEvent> = {}): AttemptEvent =>
  ({
    outcome: 'rejected',
    cause: 'wrong_password',
    identifier: `user${n}@example.com`,
    provider: 'primary',
    degraded: false,
    durationMs: 12.5,
    context: { ip: '203.0.113.7' },
    ...over,
  }) as AttemptEvent;

function setup(options: Partial<AuditSinkOptions> = {}) {
  const db = fakePool();
  const logger = recordingLogger();
  const drops: AuditDropEvent[] = [];
  const sink = auditSink({
    pool: db.pool,
    logger,
    onDrop: (e) => drops.push(e),
    ...options,
  });
  const feed = (from: number, to: number) => {
    for (let n = from; n <= to; n++) sink.onAttempt(attempt(n));
  };
  const ids = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => `user${from + i}@example.com`);
  return { sink, db, logger, drops, feed, ids };
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2025-01-02T03:04:05Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('rows', () => {
  it('one per event, column by column; unavailable takes the kind and provider of the last failure', async () => {
    const { sink, db } = setup();
    sink.onAttempt({
      outcome: 'authenticated',
      call: { id: 1 },
      identifier: 'ada@example.com',
      provider: 'fallback',
      degraded: true,
      durationMs: 41.25,
      context: { ip: '::1', userAgent: 'curl/8\u0000evil', requestId: 'req-1' },
    });
    sink.onAttempt({
      outcome: 'rejected',
      call: { id: 2 },
      cause: 'invalid_input',
      degraded: false,
      durationMs: Number.NaN,
      context: {},
    });
    const unavailable: UnavailableEvent = {
      identifier: 'bob@example.com',
      durationMs: 3000,
      call: { id: 3 },
      context: { requestId: 'req-3' },
      failures: [
        { provider: 'primary', kind: 'connection' as const, code: 'ECONNREFUSED' },
        { provider: 'fallback', kind: 'timeout' as const, code: 'PROVIDER_TIMEOUT' },
      ].map((f) => ({ ...f, transient: false, message: 'x', attempts: 1, durationMs: 1 })),
    };
    sink.onUnavailable(unavailable);
    await vi.advanceTimersByTimeAsync(1000);

    const at = new Date('2025-01-02T03:04:05Z');
    expect(db.written).toEqual([
      {
        at,
        outcome: 'authenticated',
        cause: null,
        identifier: 'ada@example.com',
        provider: 'fallback',
        degraded: true,
        ip: '::1',
        user_agent: 'curl/8\uFFFDevil',
        request_id: 'req-1',
        duration_ms: 41.25,
      },
      {
        at,
        outcome: 'rejected',
        cause: 'invalid_input',
        identifier: null,
        provider: null,
        degraded: false,
        ip: null,
        user_agent: null,
        request_id: null,
        duration_ms: null,
      },
      {
        at,
        outcome: 'unavailable',
        cause: 'timeout',
        identifier: 'bob@example.com',
        provider: 'fallback',
        degraded: false,
        ip: null,
        user_agent: null,
        request_id: 'req-3',
        duration_ms: 3000,
      },
    ]);
  });

  it('stores what hashIdentifier makes of the identifier; if it throws, no identifier, logged once', async () => {
    let broken = false;
    const { sink, db, logger } = setup({
      hashIdentifier: (id) => {
        if (broken) throw new Error('no key');
        return `h:${id.length}`;
      },
    });
    sink.onAttempt(attempt(1));
    broken = true;
    sink.onAttempt(attempt(2));
    sink.onAttempt(attempt(3));
    await vi.advanceTimersByTimeAsync(1000);
    expect(db.written.map((r) => r.identifier)).toEqual(['h:17', null, null]);
    expect(logger.lines.map((l) => l.message)).toEqual([
      'audit hashIdentifier threw; the row keeps no identifier',
    ]);
  });
});

describe('batching', () => {
  it('writes a full batch at once, the rest flushIntervalMs after it was buffered', async () => {
    const { sink, db, ids } = setup({ batchSize: 3, flushIntervalMs: 1000 });
    for (let n = 1; n <= 7; n++) sink.onAttempt(attempt(n));
    expect(db.attempts).toHaveLength(0); // nothing on the login path
    await vi.advanceTimersByTimeAsync(0);
    expect(db.attempts.map((rows) => rows.length)).toEqual([3, 3]);
    await vi.advanceTimersByTimeAsync(999);
    expect(db.attempts).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(db.attempts.map((rows) => rows.length)).toEqual([3, 3, 1]);
    expect(db.identifiers()).toEqual(ids(1, 7));
    expect(sink.health()).toEqual({
      name: 'audit',
      ok: true,
      counts: { buffered: 0, written: 7, dropped: 0 },
    });
  });

  it('puts values in parameters, never in the statement text', async () => {
    const { sink, db } = setup({ table: 'audit.login"history' });
    sink.onAttempt(attempt(1, { identifier: "x'); DROP TABLE users; --" }));
    await vi.advanceTimersByTimeAsync(1000);
    const [text, values] = db.pool.query.mock.calls[0] ?? [];
    expect(text).toContain('INSERT INTO "audit"."login""history" (');
    expect(text).not.toContain('DROP');
    expect(values).toContain("x'); DROP TABLE users; --");
  });
});

describe('a full buffer', () => {
  it('drops the oldest rows, counts them exactly and tells onDrop', async () => {
    const { sink, db, drops, feed, ids } = setup({
      bufferSize: 5,
      batchSize: 2,
      maxRetryDelayMs: 100,
    });
    db.fail();
    feed(1, 1);
    await vi.advanceTimersByTimeAsync(1000); // first write fails; the row waits
    expect(db.attempts).toHaveLength(1);
    feed(2, 8);
    expect(sink.health().counts).toEqual({ buffered: 5, written: 0, dropped: 3 });
    expect(drops).toEqual(
      [1, 2, 3].map((total) => ({ dropped: 1, totalDropped: total, reason: 'buffer_full' })),
    );

    db.recover();
    await vi.advanceTimersByTimeAsync(100); // the retry, then the full batches behind it
    expect(db.identifiers()).toEqual(ids(4, 7));
    await vi.advanceTimersByTimeAsync(1000); // the partial one
    expect(db.identifiers()).toEqual(ids(4, 8));
    expect(sink.health()).toMatchObject({
      ok: true,
      counts: { buffered: 0, written: 5, dropped: 3 },
    });
  });

  it('never drops the batch being written: the oldest row not in flight goes instead', async () => {
    const { sink, db, feed, ids } = setup({ bufferSize: 4, batchSize: 2 });
    db.hold();
    feed(1, 2); // a full batch: written at once, and held in flight
    await vi.advanceTimersByTimeAsync(0);
    expect(db.attempts).toHaveLength(1);
    feed(3, 6);
    expect(sink.health().counts).toEqual({ buffered: 4, written: 0, dropped: 2 });
    db.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(db.identifiers()).toEqual([...ids(1, 2), ...ids(5, 6)]);
    expect(sink.health().counts).toEqual({ buffered: 0, written: 4, dropped: 2 });
  });

  it('drops the new row when the whole buffer is the batch in flight', async () => {
    const { sink, db, feed, drops } = setup({ bufferSize: 2, batchSize: 2 });
    db.hold();
    feed(1, 3);
    await vi.advanceTimersByTimeAsync(0);
    expect(drops).toEqual([{ dropped: 1, totalDropped: 1, reason: 'buffer_full' }]);
    db.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(sink.health().counts).toEqual({ buffered: 0, written: 2, dropped: 1 });
  });

  it('isolates a throwing onDrop: logged once, the event still buffered, the count still kept', async () => {
    const logger = recordingLogger();
    const { sink, db, feed } = setup({
      bufferSize: 1,
      batchSize: 1,
      logger,
      onDrop: () => {
        throw new Error('metrics down');
      },
    });
    db.fail();
    expect(() => feed(1, 4)).not.toThrow();
    expect(sink.health().counts).toEqual({ buffered: 1, written: 0, dropped: 3 });
    expect(logger.lines.filter((l) => l.message.includes('onDrop'))).toEqual([
      {
        level: 'error',
        message: 'audit onDrop callback threw; ignored',
        meta: { error: 'metrics down' },
      },
    ]);
  });
});

describe('while writes fail', () => {
  it('retries the whole batch with capped backoff, logs the outage once and the recovery once, redacted', async () => {
    const { sink, db, logger, feed, ids } = setup({ batchSize: 2, maxRetryDelayMs: 200 });
    db.fail(pgError('ECONNREFUSED', 'connect to postgres://app:s3cret@db:5432/audit refused'));
    feed(1, 2);
    await vi.advanceTimersByTimeAsync(0);
    // The cap: whatever the jitter, one retry per maxRetryDelayMs.
    for (let i = 0; i < 10; i++) await vi.advanceTimersByTimeAsync(200);
    expect(db.attempts).toHaveLength(11);
    for (const rows of db.attempts) expect(rows.map((r) => r.identifier)).toEqual(ids(1, 2));

    const health = sink.health();
    expect(health).toMatchObject({ ok: false, counts: { buffered: 2, written: 0, dropped: 0 } });
    expect(health.message).toContain('postgres://app:***@db');
    expect(JSON.stringify([health, logger.lines])).not.toContain('s3cret');

    db.recover();
    await vi.advanceTimersByTimeAsync(200);
    expect(db.identifiers()).toEqual(ids(1, 2));
    expect(sink.health()).toEqual({
      name: 'audit',
      ok: true,
      counts: { buffered: 0, written: 2, dropped: 0 },
    });
    expect(logger.lines.map((l) => [l.level, l.message])).toEqual([
      [
        'error',
        'audit writes to login_history fail: connect to postgres://app:***@db:5432/audit refused; rows wait in the buffer (login unaffected)',
      ],
      ['warn', 'audit writes resumed'],
    ]);
  });

  it('rows the database refuses as data are dropped alone; the rest of their batch is written', async () => {
    const { sink, db, drops, logger } = setup({ batchSize: 3 });
    db.refuse((row) => row.identifier === null);
    sink.onAttempt(attempt(1));
    sink.onAttempt(attempt(2, { identifier: undefined }));
    sink.onAttempt(attempt(3));
    await vi.advanceTimersByTimeAsync(0);
    expect(db.attempts.map((rows) => rows.length)).toEqual([3, 1, 1, 1]);
    expect(db.identifiers()).toEqual(['user1@example.com', 'user3@example.com']);
    expect(drops).toEqual([{ dropped: 1, totalDropped: 1, reason: 'rejected' }]);
    expect(sink.health()).toEqual({
      name: 'audit',
      ok: true,
      counts: { buffered: 0, written: 2, dropped: 1 },
    });
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatchObject({ level: 'error', meta: { code: '23502' } });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(db.attempts).toHaveLength(4);
  });
});

describe('close()', () => {
  it('writes a partial batch at once, resolves once, and drops later events', async () => {
    const { sink, db, feed, drops } = setup();
    feed(1, 2);
    const closing = sink.close();
    expect(sink.close()).toBe(closing);
    await closing;
    expect(db.written).toHaveLength(2);
    feed(3, 3);
    expect(drops).toEqual([{ dropped: 1, totalDropped: 1, reason: 'closed' }]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(db.attempts).toHaveLength(1);
    expect(sink.health().counts).toEqual({ buffered: 0, written: 2, dropped: 1 });
  });

  it('keeps retrying until closeTimeoutMs, then drops what is left, counted and logged', async () => {
    const { sink, db, feed, drops, logger } = setup({ closeTimeoutMs: 500, maxRetryDelayMs: 50 });
    db.fail();
    feed(1, 3);
    let closed = false;
    void sink.close().then(() => {
      closed = true;
    });
    await vi.advanceTimersByTimeAsync(499);
    expect(closed).toBe(false);
    expect(db.attempts.length).toBeGreaterThan(5);
    await vi.advanceTimersByTimeAsync(1);
    expect(closed).toBe(true);
    expect(drops).toEqual([{ dropped: 3, totalDropped: 3, reason: 'closed' }]);
    expect(sink.health().counts).toEqual({ buffered: 0, written: 0, dropped: 3 });
    expect(logger.lines.at(-1)).toMatchObject({
      level: 'error',
      message: 'audit: 3 rows not written within closeTimeoutMs (500 ms); dropped',
    });
    const tries = db.attempts.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(db.attempts).toHaveLength(tries);
  });

  it('gives up on a write that hangs at the deadline; its late answer changes nothing', async () => {
    const { sink, db, feed } = setup({ closeTimeoutMs: 300 });
    db.hold();
    feed(1, 2);
    const closing = sink.close();
    await vi.advanceTimersByTimeAsync(300);
    await closing;
    expect(sink.health().counts).toEqual({ buffered: 0, written: 0, dropped: 2 });
    db.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(sink.health().counts).toEqual({ buffered: 0, written: 0, dropped: 2 });
  });
});

describe('timers', () => {
  it('never keep the process alive, except the bounded wait of close()', async () => {
    vi.useRealTimers();
    const { sink, db, feed } = setup({ flushIntervalMs: 60_000, closeTimeoutMs: 50 });
    const timers = vi.spyOn(globalThis, 'setTimeout');
    const refs = () => timers.mock.results.map((r) => (r.value as NodeJS.Timeout).hasRef());
    feed(1, 1); // arms the flush timer
    expect(refs()).toEqual([false]);
    db.hold();
    await sink.close(); // the held write outlives closeTimeoutMs
    expect(refs()).toEqual([false, true]);
    expect(sink.health().counts).toEqual({ buffered: 0, written: 0, dropped: 1 });
  });
});

describe('options', () => {
  const pool = { query: async () => ({ rows: [] }) };
  it.each([
    [{ bufferSize: 0 }, 'auditSink.bufferSize'],
    [{ bufferSize: 50, batchSize: 51 }, 'auditSink.batchSize'],
    [{ batchSize: 10_000, bufferSize: 20_000 }, 'auditSink.batchSize'],
    [{ flushIntervalMs: 1.5 }, 'auditSink.flushIntervalMs'],
    [{ closeTimeoutMs: -1 }, 'auditSink.closeTimeoutMs'],
    [{ maxRetryDelayMs: 0 }, 'auditSink.maxRetryDelayMs'],
    [{ pool: {} }, 'auditSink.pool'],
    [{ table: 'a.b.c' }, 'auditSink.table'],
    [{ table: 42 }, 'auditSink.table'],
    [{ onDrop: 'log' }, 'auditSink.onDrop'],
    [{ hashIdentifier: true }, 'auditSink.hashIdentifier'],
    [{ logger: { warn: () => undefined } }, 'auditSink.logger'],
    [{ bufferSizes: 10 }, 'auditSink'],
  ])('%j is refused with a ConfigError naming %s', (bad, option) => {
    let error: unknown;
    try {
      auditSink({ pool, ...bad } as unknown as AuditSinkOptions);
    } catch (e) {
      error = e;
    }
    expect(isConfigError(error) && error.option).toBe(option);
    expect((error as Error).message.startsWith(`${option}: `)).toBe(true);
  });
});

describe('RowQueue', () => {
  it('keeps order across the end of its ring when rows are taken and restored', () => {
    const q = new RowQueue<number>(4);
    for (const n of [1, 2, 3]) q.push(n);
    expect(q.take(2)).toEqual([1, 2]);
    for (const n of [4, 5, 6]) q.push(n); // wraps
    expect(() => q.push(7)).toThrow(RangeError);
    const batch = q.take(3);
    expect(batch).toEqual([3, 4, 5]);
    q.restore(batch); // in front again, across the ring's start
    expect(q.length).toBe(4);
    expect(() => q.restore([0])).toThrow(RangeError);
    expect(q.take(10)).toEqual([3, 4, 5, 6]);
    expect(q.shift()).toBeUndefined();
  });
});
