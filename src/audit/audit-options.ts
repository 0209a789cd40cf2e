import { z } from 'zod';
import type { ConfigError } from '../errors/errors.js';
import { parseFactoryOptions } from '../errors/factory-options.js';
import { consoleLogger, type Logger } from '../hooks/logger.js';
import type { Queryable } from '../providers/queryable.js';
import type { TableName } from '../schema/table-name.js';
import { AUDIT_COLUMNS, type AuditTable, auditTableName } from './audit-schema.js';

/** Why rows were dropped: the buffer was full, the sink was closing or closed, or the database refused them as data. */
export type AuditDropReason = 'buffer_full' | 'closed' | 'rejected';

/** What {@link AuditSinkOptions.onDrop} receives. */
export interface AuditDropEvent {
  /** Rows dropped just now. */
  readonly dropped: number;
  /** Rows dropped since the sink was created, these included (as `health().counts.dropped`). */
  readonly totalDropped: number;
  readonly reason: AuditDropReason;
}

/** Options of {@link auditSink}. Validated at construction; a bad one throws `ConfigError` naming it. */
export interface AuditSinkOptions {
  /**
   * Where rows go: a `pg.Pool` (the app's, or one for audit only), or anything
   * with `query(text, values)`. Give it connect and query timeouts
   * (`connectionTimeoutMillis`, `query_timeout`): a write that hangs holds its
   * batch until it answers.
   */
  readonly pool: Queryable;
  /** `'login_history'` or `'schema.login_history'`; create it with `auditSchemaSql()`. Default: `'login_history'`. */
  readonly table?: AuditTable;
  /** Rows held in memory while waiting to be written; when full, the oldest is dropped. Default: `10000`. */
  readonly bufferSize?: number;
  /** Rows per INSERT, at most `bufferSize`; a full batch is written at once. Default: `100`. */
  readonly batchSize?: number;
  /** How long a row waits for its batch to fill before it is written anyway. Default: `1000`. */
  readonly flushIntervalMs?: number;
  /** Longest wait between retries while writes fail (exponential backoff with jitter up to it). Default: `30000`. */
  readonly maxRetryDelayMs?: number;
  /** How long `close()` may spend writing what is buffered; rows left are dropped and counted. Default: `5000`. */
  readonly closeTimeoutMs?: number;
  /**
   * Called when rows are dropped. Called synchronously, possibly on the login
   * path: keep it cheap. If it throws, that is logged and ignored.
   * Default: none (drops are still logged and counted in `health()`).
   */
  readonly onDrop?: (event: AuditDropEvent) => void;
  /**
   * What to store instead of the identifier as given, e.g. an HMAC so the
   * table holds no e-mail addresses:
   * `(id) => createHmac('sha256', key).update(id.toLowerCase()).digest('hex')`.
   * Runs on the login path: keep it cheap. If it throws, the row keeps a null
   * identifier (never the one in clear) and that is logged.
   * Default: the identifier as given.
   */
  readonly hashIdentifier?: (identifier: string) => string;
  /** Where write failures (once per outage, and the recovery) and drops are reported. Default: console. */
  readonly logger?: Logger;
}

/** The options as the sink uses them: validated, with every default filled in. */
export interface ParsedAuditOptions {
  readonly pool: Queryable;
  readonly table: TableName;
  readonly bufferSize: number;
  readonly batchSize: number;
  readonly flushIntervalMs: number;
  readonly maxRetryDelayMs: number;
  readonly closeTimeoutMs: number;
  readonly onDrop: ((event: AuditDropEvent) => void) | undefined;
  readonly hashIdentifier: ((identifier: string) => string) | undefined;
  readonly logger: Logger;
}

/** Default option values; documented in {@link AuditSinkOptions}. */
export const AUDIT_DEFAULTS = Object.freeze({
  bufferSize: 10_000,
  batchSize: 100,
  flushIntervalMs: 1000,
  maxRetryDelayMs: 30_000,
  closeTimeoutMs: 5000,
});

// PostgreSQL takes at most 65535 parameters in one statement.
const MAX_BATCH_SIZE = Math.floor(65_535 / AUDIT_COLUMNS.length);
const TIMER_MAX_MS = 2_147_483_647;

const withMethods = <T>(names: readonly string[], message: string) =>
  z.custom<T>(
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function'),
    { error: message },
  );

const fn = <T>() =>
  z.custom<T>((value) => typeof value === 'function', { error: 'expected a function' });

const schema = z
  .strictObject({
    pool: withMethods<Queryable>(
      ['query'],
      'expected a pg Pool or anything with query(text, values)',
    ),
    table: z
      .union([z.string(), z.strictObject({ schema: z.string().optional(), name: z.string() })], {
        error: 'expected "table", "schema.table" or { schema, name }',
      })
      .optional(),
    bufferSize: z.number().int().min(1).max(10_000_000).optional(),
    batchSize: z.number().int().min(1).max(MAX_BATCH_SIZE).optional(),
    flushIntervalMs: z.number().int().min(1).max(TIMER_MAX_MS).optional(),
    maxRetryDelayMs: z.number().int().min(1).max(TIMER_MAX_MS).optional(),
    closeTimeoutMs: z.number().int().min(0).max(TIMER_MAX_MS).optional(),
    onDrop: fn<(event: AuditDropEvent) => void>().optional(),
    hashIdentifier: fn<(identifier: string) => string>().optional(),
    logger: withMethods<Logger>(['warn', 'error'], 'expected { warn, error } functions').optional(),
  })
  .refine(
    (o) => (o.batchSize ?? AUDIT_DEFAULTS.batchSize) <= (o.bufferSize ?? AUDIT_DEFAULTS.bufferSize),
    {
      path: ['batchSize'],
      error: 'must not exceed bufferSize',
    },
  ) satisfies z.ZodType<AuditSinkOptions>;

/** Validates `auditSink` options; throws a {@link ConfigError} naming the first bad one. */
export function parseAuditOptions(options: AuditSinkOptions): ParsedAuditOptions {
  const o = parseFactoryOptions('auditSink', schema, options);
  return Object.freeze({
    pool: o.pool,
    table: auditTableName(o.table, 'auditSink.table'),
    bufferSize: o.bufferSize ?? AUDIT_DEFAULTS.bufferSize,
    batchSize: o.batchSize ?? AUDIT_DEFAULTS.batchSize,
    flushIntervalMs: o.flushIntervalMs ?? AUDIT_DEFAULTS.flushIntervalMs,
    maxRetryDelayMs: o.maxRetryDelayMs ?? AUDIT_DEFAULTS.maxRetryDelayMs,
    closeTimeoutMs: o.closeTimeoutMs ?? AUDIT_DEFAULTS.closeTimeoutMs,
    onDrop: o.onDrop,
    hashIdentifier: o.hashIdentifier,
    logger: o.logger ?? consoleLogger,
  });
}
