import { errorCode } from '../errors/classify.js';
import { ResilientAuthError } from '../errors/errors.js';
import { readColumns } from '../schema/introspect.js';
import type { TableName } from '../schema/table-name.js';
import {
  type ColumnMapping,
  driftNotice,
  type LookupPlan,
  planLookup,
  resolveColumns,
  rowToAccount,
} from './columns.js';
import type { Account, ProviderCallContext } from './provider.js';
import type { Queryable, Row } from './queryable.js';

/** Runs the lookup statement; the pg provider prepares it, the SQL provider runs it as is. */
export type RunLookup = (
  plan: LookupPlan,
  identifier: string,
  signal: AbortSignal,
) => Promise<readonly Row[]>;

// With optional columns missing, the schema is read again after this long, so a
// migration that adds them is picked up without a restart.
const DRIFT_RECHECK_MS = 60_000;

/**
 * The lookup both SQL providers share: reads information_schema on first use
 * (and again when the server reports 42703 or 42P01), plans the query against
 * the live table, runs it, maps the row.
 */
export class TableLookup {
  readonly #fields;
  #plan: Promise<LookupPlan> | undefined;
  #plannedAt = 0;
  #hasDrift = false;

  constructor(
    readonly table: TableName,
    columns: ColumnMapping | undefined,
    private readonly caseInsensitive: boolean,
    private readonly introspector: Queryable,
    private readonly run: RunLookup,
  ) {
    this.#fields = resolveColumns(columns);
  }

  async findAccount(identifier: string, ctx: ProviderCallContext): Promise<Account | null> {
    let plan = await this.#currentPlan(ctx);
    let rows: readonly Row[];
    try {
      rows = await this.run(plan, identifier, ctx.signal);
    } catch (error) {
      const code = errorCode(error);
      if (code !== '42703' && code !== '42P01') throw error;
      // The table changed under us: read it again. A column that vanished may
      // be optional, so one more try with the new plan can still answer.
      this.#plan = undefined;
      if (code === '42P01') throw error;
      plan = await this.#currentPlan(ctx);
      rows = await this.run(plan, identifier, ctx.signal);
    }
    if (rows.length > 1) {
      throw new ResilientAuthError(
        'AMBIGUOUS_ACCOUNT',
        `more than one row of ${this.table.display} matches the identifier${this.caseInsensitive ? ' case-insensitively' : ''}: add a unique index on it; refusing to pick one`,
      );
    }
    const row = rows[0];
    return row === undefined ? null : rowToAccount(row, plan);
  }

  /** Re-reads the schema: fails with a SchemaMismatchError when a required column or the table is missing. */
  async check(ctx: ProviderCallContext): Promise<void> {
    this.#plan = undefined;
    await this.#currentPlan(ctx);
  }

  #currentPlan(ctx: ProviderCallContext): Promise<LookupPlan> {
    const stale =
      this.#plan !== undefined && Date.now() - this.#plannedAt > DRIFT_RECHECK_MS && this.#hasDrift;
    if (this.#plan === undefined || stale) {
      this.#plannedAt = Date.now();
      const planning = readColumns(this.introspector, this.table).then((live) => {
        const plan = planLookup(this.table, this.#fields, live, this.caseInsensitive);
        this.#hasDrift = plan.missing.length > 0;
        if (this.#hasDrift) ctx.notify?.(driftNotice(this.table, plan));
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
