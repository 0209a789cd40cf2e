import { errorCode } from '../errors/classify.js';
import { ResilientAuthError } from '../errors/errors.js';
import { type Clock, systemClock } from '../orchestrator/clock.js';
import { readColumns } from '../schema/introspect.js';
import { type TableName, tableName } from '../schema/table-name.js';
import {
  type ColumnMapping,
  driftNotice,
  type LookupPlan,
  planLookup,
  resolveColumns,
  rowToAccount,
  type UserRow,
} from './columns.js';
import type { Account, AuthProvider, AuthUser, ProviderCallContext } from './provider.js';
import type { Queryable, Row } from './queryable.js';

const DEFAULT_SCHEMA_RECHECK_MS = 60_000;

/** Options the two SQL providers share: which table, which columns, and how rows become users. */
export interface TableOptions<U = AuthUser> {
  /** `'users'` or `'schema.users'`. */
  readonly table: string | { readonly schema?: string; readonly name: string };
  /** Default: the reference schema's names. */
  readonly columns?: ColumnMapping;
  /** Match with `lower(column) = lower($1)`. Default: `true`. */
  readonly caseInsensitive?: boolean;
  /**
   * Turns the user columns of a row into the app's user type (lucia's
   * `getUserAttributes` is the model). Required to get a user type other than
   * {@link AuthUser}; a value it throws on counts as "could not answer".
   * Default: the row as is (`{ id, email, ...extra fields }`).
   */
  readonly toUser?: (row: UserRow) => U;
  /** Time source of the schema re-check. Default: `Date.now()`. */
  readonly clock?: Clock;
  /** While optional columns are missing, the schema is read again after this long, so a migration that adds them is picked up. Default: `60000`. */
  readonly schemaRecheckMs?: number;
}

/** How a provider reads the schema and runs its lookup statement. */
export interface TableAccess {
  /** Reads information_schema. */
  readonly introspector: Queryable;
  /**
   * Runs the lookup statement; the pg provider prepares it, the SQL provider
   * runs it as is. Reads `ctx.signal` only if it can use it (it is built on first read).
   */
  readonly run: (
    plan: LookupPlan,
    identifier: string,
    ctx: ProviderCallContext,
  ) => Promise<readonly Row[]>;
}

/**
 * The provider both SQL providers are: a lookup planned against the live
 * table, whose check() re-reads the schema (which proves the connection and
 * the table at once).
 */
export function tableProvider<U>(
  name: string,
  options: TableOptions<U>,
  access: TableAccess,
): AuthProvider<U> {
  const lookup = new TableLookup<U>(options, access);
  return {
    name,
    findAccount: (identifier, ctx) => lookup.findAccount(identifier, ctx),
    check: (ctx) => lookup.check(ctx),
  };
}

/**
 * The lookup both SQL providers share: reads information_schema on first use
 * (and again when the server reports 42703 or 42P01, and every
 * `schemaRecheckMs` while optional columns are missing, so a migration that
 * adds them is picked up without a restart), plans the query against the
 * live table, runs it, maps the row.
 */
class TableLookup<U> {
  readonly #table: TableName;
  readonly #fields;
  readonly #caseInsensitive: boolean;
  readonly #toUser: (row: UserRow) => U;
  readonly #clock: Clock;
  readonly #schemaRecheckMs: number;
  #plan: Promise<LookupPlan> | undefined;
  #plannedAtMs = 0;
  #hasDrift = false;

  constructor(
    options: TableOptions<U>,
    private readonly access: TableAccess,
  ) {
    this.#table = tableName(options.table);
    this.#fields = resolveColumns(options.columns);
    this.#caseInsensitive = options.caseInsensitive ?? true;
    // Without toUser, U is AuthUser (the overloads of the providers see to it).
    this.#toUser = options.toUser ?? ((row) => row as U);
    this.#clock = options.clock ?? systemClock;
    this.#schemaRecheckMs = options.schemaRecheckMs ?? DEFAULT_SCHEMA_RECHECK_MS;
  }

  async findAccount(identifier: string, ctx: ProviderCallContext): Promise<Account<U> | null> {
    const { run } = this.access;
    const table = this.#table;
    let plan = await this.#currentPlan(ctx);
    let rows: readonly Row[];
    try {
      rows = await run(plan, identifier, ctx);
    } catch (error) {
      const code = errorCode(error);
      if (code !== '42703' && code !== '42P01') throw error;
      // The table changed under us: read it again. A vanished table or required
      // column then fails with a SchemaMismatchError naming it; a vanished
      // optional column is left out, and one more try can still answer.
      this.#plan = undefined;
      plan = await this.#currentPlan(ctx);
      rows = await run(plan, identifier, ctx);
    }
    if (rows.length > 1) {
      throw new ResilientAuthError(
        'AMBIGUOUS_ACCOUNT',
        `more than one row of ${table.display} matches the identifier${this.#caseInsensitive ? ' case-insensitively' : ''}: add a unique index on it; refusing to pick one`,
      );
    }
    const row = rows[0];
    return row === undefined ? null : rowToAccount(row, plan, this.#toUser);
  }

  /** Re-reads the schema: fails with a SchemaMismatchError when a required column or the table is missing. */
  async check(ctx: ProviderCallContext): Promise<void> {
    this.#plan = undefined;
    await this.#currentPlan(ctx);
  }

  #currentPlan(ctx: ProviderCallContext): Promise<LookupPlan> {
    const table = this.#table;
    const now = this.#clock.now();
    const stale = this.#hasDrift && now - this.#plannedAtMs >= this.#schemaRecheckMs;
    if (this.#plan === undefined || stale) {
      this.#plannedAtMs = now;
      const planning = readColumns(this.access.introspector, table).then((live) => {
        const plan = planLookup(table, this.#fields, live, this.#caseInsensitive);
        this.#hasDrift = plan.missing.length > 0;
        if (this.#hasDrift) ctx.notify?.(driftNotice(table, plan));
        return plan;
      });
      this.#plan = planning;
      // A failed read is not cached: the next call reads again.
      planning.catch(() => {
        if (this.#plan === planning) this.#plan = undefined;
      });
    }
    return this.#plan;
  }
}
