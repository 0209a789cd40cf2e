import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import { errorCode, safeMessage } from '../errors/classify.js';
import type { AttemptEvent, AuthHooks, HookSetHealth, UnavailableEvent } from '../hooks/events.js';
import {
  type AuditDropReason,
  type AuditSinkOptions,
  type ParsedAuditOptions,
  parseAuditOptions,
} from './audit-options.js';
import { type AuditRow, attemptRow, insertStatement, unavailableRow } from './audit-row.js';
import { RowQueue } from './row-queue.js';

/** The hook set {@link auditSink} returns: install it in `hooks`; `auth.health()` lists its `health()`, `auth.close()` calls its `close()`. */
export interface AuditSink extends AuthHooks {
  /** Buffers the attempt's row. Synchronous and O(1): never waits for the database. */
  onAttempt(event: AttemptEvent): void;
  /** Buffers the row of an attempt that threw `AuthUnavailableError`. Synchronous and O(1). */
  onUnavailable(event: UnavailableEvent): void;
  /**
   * `name: 'audit'`; `ok` false while writes fail, with the redacted reason in
   * `message`; `counts`: `buffered` (waiting, the batch being written
   * included), `written`, `dropped`.
   */
  health(): HookSetHealth;
  /**
   * Writes what is buffered within `closeTimeoutMs`; rows left then are
   * dropped, counted and reported. Later events are dropped and counted.
   * Idempotent: every call returns the same promise. Never rejects.
   */
  close(): Promise<void>;
}

/**
 * An audit trail: one row per `authenticate()` call in a PostgreSQL table
 * (see {@link auditSchemaSql}), written in the background so that it never
 * slows a login, and never takes login down with it.
 *
 * Each attempt appends a row to a bounded in-memory buffer. A background
 * flusher writes the buffer in batches (one multi-row parameterized INSERT
 * each) when a batch is full or `flushIntervalMs` after the first row. While
 * the database is down, rows wait and the failed batch is retried whole (one
 * statement is atomic) with capped exponential backoff; when the buffer is
 * full, the oldest row is dropped and counted. Write failures are logged once
 * when they start and once when writes resume.
 *
 * A row holds `at` (when the attempt finished), `outcome` (`authenticated`,
 * `rejected`, `unavailable`), `cause` (the rejection cause, or the kind of
 * the last failure when unavailable), the identifier as given (or what
 * `hashIdentifier` makes of it, for a table without e-mail addresses), the
 * provider, `degraded`, the request context and the duration. Never the
 * password or the hash.
 *
 * Delivery is at least once: a batch whose COMMIT reached the server but
 * whose answer was lost is written again. A batch the database refuses as
 * data (SQLSTATE class 22 or 23, e.g. a stricter table of your own) is
 * retried row by row, and only the refused rows are dropped.
 *
 * @example
 * ```ts
 * await pool.query(auditSchemaSql());
 * const audit = auditSink({ pool });
 * const auth = createResilientAuth({ providers, hooks: [audit] });
 * // on shutdown: flushes the audit rows too (it calls audit.close()).
 * await auth.close();
 * ```
 */
export function auditSink(options: AuditSinkOptions): AuditSink {
  const writer = new AuditWriter(parseAuditOptions(options));
  return Object.freeze({
    onAttempt: (event: AttemptEvent) =>
      writer.append(attemptRow(event, new Date(), writer.identifier(event.identifier))),
    onUnavailable: (event: UnavailableEvent) =>
      writer.append(unavailableRow(event, new Date(), writer.identifier(event.identifier))),
    health: () => writer.health(),
    close: () => writer.close(),
  });
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint): these rows will never fit. */
function refusedAsData(error: unknown): boolean {
  const code = errorCode(error);
  return (
    code !== undefined && code.length === 5 && (code.startsWith('22') || code.startsWith('23'))
  );
}

/** The buffer, the flusher and the counts behind one {@link auditSink}. */
class AuditWriter {
  readonly #o: ParsedAuditOptions;
  readonly #queue: RowQueue<AuditRow>;
  readonly #backoffs: ExponentialBackoff<unknown>;
  /** The rows of the INSERT in flight: held (they count against the buffer) but never dropped for room. */
  #inflight: readonly AuditRow[] = [];
  #written = 0;
  #dropped = 0;
  #timer: NodeJS.Timeout | undefined;
  #retryPending = false;
  #flushing = false;
  #backoff: IBackoff<unknown> | undefined;
  /** Set while writes fail: the redacted reason. */
  #failure: string | undefined;
  #overflowing = false;
  #onDropFailing = false;
  #hashFailing = false;
  #closing = false;
  #closed: Promise<void> | undefined;
  /** The close deadline passed: whatever is still running stops. */
  #abandoned = false;
  #drained: (() => void) | undefined;

  constructor(options: ParsedAuditOptions) {
    this.#o = options;
    this.#queue = new RowQueue(options.bufferSize);
    this.#backoffs = new ExponentialBackoff({
      initialDelay: Math.min(options.flushIntervalMs, options.maxRetryDelayMs),
      maxDelay: options.maxRetryDelayMs,
    });
  }

  /** What to store for `identifier`: as given, or `hashIdentifier`'s answer; null if that throws. */
  identifier(identifier: string | undefined): string | null {
    const { hashIdentifier } = this.#o;
    if (identifier === undefined || hashIdentifier === undefined) return identifier ?? null;
    try {
      const hashed = hashIdentifier(identifier);
      this.#hashFailing = false;
      return hashed;
    } catch (error) {
      if (!this.#hashFailing) {
        this.#log('error', 'audit hashIdentifier threw; the row keeps no identifier', {
          error: safeMessage(error),
        });
      }
      this.#hashFailing = true;
      return null;
    }
  }

  append(row: AuditRow): void {
    if (this.#closing) {
      this.#drop(1, 'closed');
      return;
    }
    if (this.#queue.length + this.#inflight.length >= this.#o.bufferSize) {
      if (!this.#overflowing) {
        this.#overflowing = true;
        this.#log('warn', 'audit buffer full: dropping the oldest rows until writes catch up', {
          table: this.#o.table.display,
          bufferSize: this.#o.bufferSize,
        });
      }
      // Only the batch being written is held: the new row is the one that can go.
      if (this.#queue.length === 0) {
        this.#drop(1, 'buffer_full');
        return;
      }
      this.#queue.shift();
      this.#drop(1, 'buffer_full');
    }
    this.#queue.push(row);
    if (this.#flushing || this.#retryPending) return;
    if (this.#queue.length === this.#o.batchSize) this.#arm(0);
    else if (this.#timer === undefined) this.#arm(this.#o.flushIntervalMs);
  }

  health(): HookSetHealth {
    return {
      name: 'audit',
      ok: this.#failure === undefined,
      ...(this.#failure !== undefined && { message: this.#failure }),
      counts: {
        buffered: this.#queue.length + this.#inflight.length,
        written: this.#written,
        dropped: this.#dropped,
      },
    };
  }

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#retryPending = false;
    if (this.#queue.length + this.#inflight.length === 0) return;
    const drained = new Promise<void>((resolve) => {
      this.#drained = resolve;
    });
    // A flush in flight carries on under closing rules (partial batches, ref'd timers).
    if (!this.#flushing) void this.#flush();
    let deadline: NodeJS.Timeout | undefined;
    const timedOut = new Promise<true>((resolve) => {
      deadline = setTimeout(() => resolve(true), this.#o.closeTimeoutMs);
    });
    const late = await Promise.race([drained.then(() => false), timedOut]);
    clearTimeout(deadline);
    if (late) this.#abandon();
  }

  /** The close deadline passed: what is still held is dropped and reported. */
  #abandon(): void {
    this.#abandoned = true;
    clearTimeout(this.#timer);
    const left = this.#queue.clear() + this.#inflight.length;
    this.#inflight = [];
    this.#log(
      'error',
      `audit: ${left} rows not written within closeTimeoutMs (${this.#o.closeTimeoutMs} ms); dropped`,
      {
        table: this.#o.table.display,
        dropped: left,
        ...(this.#failure && { error: this.#failure }),
      },
    );
    this.#drop(left, 'closed');
  }

  /** Runs the flusher after `delayMs`; its timer never keeps the process alive, except while closing. */
  #arm(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#retryPending = false;
      void this.#flush();
    }, delayMs);
    if (!this.#closing) this.#timer.unref();
  }

  /** Writes batches until fewer than a full one is left (none, while closing), then arms what comes next. */
  async #flush(): Promise<void> {
    this.#flushing = true;
    let ok = true;
    let first = true;
    while (ok && this.#queue.length >= (first || this.#closing ? 1 : this.#o.batchSize)) {
      first = false;
      ok = await this.#writeBatch(this.#queue.take(this.#o.batchSize));
    }
    this.#flushing = false;
    if (this.#abandoned) return;
    if (!ok) {
      this.#retryPending = true;
      this.#arm(this.#backoff?.duration ?? this.#o.flushIntervalMs);
    } else if (this.#queue.length > 0) {
      this.#arm(
        this.#closing || this.#queue.length >= this.#o.batchSize ? 0 : this.#o.flushIntervalMs,
      );
    } else if (this.#closing) {
      this.#drained?.();
    }
  }

  /** One INSERT of `batch`; true when written (or refused rows dropped), false when it must be retried. */
  async #writeBatch(batch: readonly AuditRow[]): Promise<boolean> {
    this.#inflight = batch;
    try {
      await this.#insert(batch);
      if (this.#abandoned) return false;
      this.#inflight = [];
      this.#succeeded(batch.length);
      return true;
    } catch (error) {
      if (this.#abandoned) return false;
      this.#inflight = [];
      if (refusedAsData(error)) return this.#writeOneByOne(batch, error);
      this.#queue.restore(batch);
      this.#failed(error);
      return false;
    }
  }

  /** A batch refused as data: each row alone, so only the rows the database refuses are dropped. */
  async #writeOneByOne(batch: readonly AuditRow[], firstError: unknown): Promise<boolean> {
    let refused = 0;
    let lastError = firstError;
    for (const [i, row] of batch.entries()) {
      // The rows not yet written stay held, and are what goes back to the buffer on a failure.
      this.#inflight = batch.slice(i);
      try {
        await this.#insert([row]);
        if (this.#abandoned) return false;
        this.#succeeded(1);
      } catch (error) {
        if (this.#abandoned) return false;
        if (!refusedAsData(error)) {
          this.#inflight = [];
          this.#queue.restore(batch.slice(i));
          this.#reportRefused(refused, lastError);
          this.#failed(error);
          return false;
        }
        refused++;
        lastError = error;
      }
    }
    this.#inflight = [];
    this.#reportRefused(refused, lastError);
    return true;
  }

  #insert(rows: readonly AuditRow[]): Promise<unknown> {
    const { text, values } = insertStatement(this.#o.table, rows);
    return this.#o.pool.query(text, values);
  }

  #reportRefused(count: number, error: unknown): void {
    if (count === 0) return;
    this.#log('error', `audit: the database refused ${count} rows as data; dropped`, {
      table: this.#o.table.display,
      code: errorCode(error),
      error: safeMessage(error),
    });
    this.#drop(count, 'rejected');
  }

  #succeeded(rows: number): void {
    this.#written += rows;
    this.#backoff = undefined;
    this.#overflowing = false;
    if (this.#failure === undefined) return;
    this.#failure = undefined;
    this.#log('warn', 'audit writes resumed', {
      table: this.#o.table.display,
      buffered: this.#queue.length + this.#inflight.length,
      dropped: this.#dropped,
    });
  }

  #failed(error: unknown): void {
    this.#backoff = (this.#backoff ?? this.#backoffs).next(undefined);
    const message = `writes to ${this.#o.table.display} fail: ${safeMessage(error)}`;
    if (this.#failure === undefined) {
      this.#log('error', `audit ${message}; rows wait in the buffer (login unaffected)`, {
        table: this.#o.table.display,
        code: errorCode(error),
        buffered: this.#queue.length,
      });
    }
    this.#failure = message;
  }

  #drop(rows: number, reason: AuditDropReason): void {
    this.#dropped += rows;
    const { onDrop } = this.#o;
    if (onDrop === undefined) return;
    try {
      onDrop({ dropped: rows, totalDropped: this.#dropped, reason });
      this.#onDropFailing = false;
    } catch (error) {
      if (!this.#onDropFailing) {
        this.#log('error', 'audit onDrop callback threw; ignored', { error: safeMessage(error) });
      }
      this.#onDropFailing = true;
    }
  }

  #log(level: 'warn' | 'error', message: string, meta: Readonly<Record<string, unknown>>): void {
    try {
      this.#o.logger[level](message, meta);
    } catch {
      // A logger that throws must not stop the flusher.
    }
  }
}
