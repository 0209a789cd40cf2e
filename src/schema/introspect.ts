import type { Queryable } from '../providers/queryable.js';
import type { TableName } from './table-name.js';

/** A column of the live table, as information_schema reports it. */
export interface LiveColumn {
  readonly name: string;
  /** information_schema's `data_type`, e.g. `text`, `boolean`, `timestamp with time zone`. */
  readonly dataType: string;
  readonly nullable: boolean;
  /** 1-based. */
  readonly position: number;
}

const COLUMNS_SQL = `SELECT column_name, data_type, is_nullable, ordinal_position
FROM information_schema.columns
WHERE table_schema = COALESCE($1::text, current_schema()) AND table_name = $2
ORDER BY ordinal_position`;

/** Reads the live table's columns in order. Empty when the table does not exist (or is not visible). */
export async function readColumns(executor: Queryable, table: TableName): Promise<LiveColumn[]> {
  const { rows } = await executor.query(COLUMNS_SQL, [table.schema ?? null, table.name]);
  return rows.map((row) => ({
    name: String(row.column_name),
    dataType: String(row.data_type),
    nullable: row.is_nullable === 'YES',
    position: Number(row.ordinal_position),
  }));
}
