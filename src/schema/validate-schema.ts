import type { Queryable } from '../providers/queryable.js';
import { readColumns } from './introspect.js';
import { tableName } from './table-name.js';

/** A column the application expects. */
export interface ExpectedColumn {
  readonly name: string;
  /** PostgreSQL type, e.g. `text`, `bigint`, `boolean`, `timestamptz`. Common aliases are understood. Default: not checked. */
  readonly type?: string;
  /** Default: not checked. */
  readonly nullable?: boolean;
}

/** Options of {@link validateSchema}. */
export interface ValidateSchemaOptions {
  /** `'users'` or `'schema.users'`. */
  readonly table: string | { readonly schema?: string; readonly name: string };
  /** In the order the application (or ORM) expects them. */
  readonly columns: readonly ExpectedColumn[];
  /** Also report columns whose position differs (ORMs that bind by position care). Default: `false`. */
  readonly checkOrder?: boolean;
}

/** What {@link validateSchema} found. `ok` is true when every list is empty. */
export interface SchemaReport {
  readonly table: string;
  readonly tableExists: boolean;
  readonly ok: boolean;
  /** Expected but not in the live table. */
  readonly missing: readonly string[];
  /** In the live table but not expected. */
  readonly extra: readonly string[];
  readonly typeMismatches: readonly {
    readonly column: string;
    readonly expected: string;
    readonly actual: string;
  }[];
  readonly nullabilityMismatches: readonly {
    readonly column: string;
    readonly expectedNullable: boolean;
    readonly actualNullable: boolean;
  }[];
  /** Only with `checkOrder`: 1-based positions among the expected columns that exist. */
  readonly orderDifferences: readonly {
    readonly column: string;
    readonly expectedPosition: number;
    readonly actualPosition: number;
  }[];
  /** One line per problem, naming table and column, for logs and the doctor. */
  readonly problems: readonly string[];
}

const TYPE_ALIASES: Record<string, string> = {
  int: 'integer',
  int4: 'integer',
  int8: 'bigint',
  int2: 'smallint',
  serial: 'integer',
  bigserial: 'bigint',
  bool: 'boolean',
  varchar: 'character varying',
  char: 'character',
  timestamptz: 'timestamp with time zone',
  timestamp: 'timestamp without time zone',
  timetz: 'time with time zone',
  float8: 'double precision',
  float4: 'real',
  decimal: 'numeric',
};

const normalizeType = (type: string) => {
  const t = type
    .trim()
    .toLowerCase()
    .replace(/\s*\(.*\)$/, '');
  return TYPE_ALIASES[t] ?? t;
};

/**
 * Compares the columns an application expects with the live table: missing
 * and extra columns, type and nullability mismatches, and (on request) order
 * differences. Read-only: it queries information_schema and changes nothing.
 *
 * @example
 * ```ts
 * const report = await validateSchema(pool, { table: 'users', columns: REFERENCE_COLUMNS, checkOrder: true });
 * if (!report.ok) console.error(report.problems.join('\n'));
 * ```
 */
export async function validateSchema(
  executor: Queryable,
  options: ValidateSchemaOptions,
): Promise<SchemaReport> {
  const table = tableName(options.table);
  const live = await readColumns(executor, table);
  const byName = new Map(live.map((c) => [c.name, c]));
  const expectedNames = new Set(options.columns.map((c) => c.name));
  const problems: string[] = [];
  const missing: string[] = [];
  const typeMismatches: { column: string; expected: string; actual: string }[] = [];
  const nullabilityMismatches: {
    column: string;
    expectedNullable: boolean;
    actualNullable: boolean;
  }[] = [];

  if (live.length === 0)
    problems.push(`table ${table.display} does not exist (or this role cannot see it)`);
  for (const expected of options.columns) {
    const actual = byName.get(expected.name);
    if (!actual) {
      missing.push(expected.name);
      if (live.length > 0) problems.push(`${table.display}.${expected.name}: column missing`);
      continue;
    }
    if (
      expected.type !== undefined &&
      normalizeType(expected.type) !== normalizeType(actual.dataType)
    ) {
      typeMismatches.push({
        column: expected.name,
        expected: expected.type,
        actual: actual.dataType,
      });
      problems.push(
        `${table.display}.${expected.name}: type is ${actual.dataType}, expected ${expected.type}`,
      );
    }
    if (expected.nullable !== undefined && expected.nullable !== actual.nullable) {
      nullabilityMismatches.push({
        column: expected.name,
        expectedNullable: expected.nullable,
        actualNullable: actual.nullable,
      });
      problems.push(
        `${table.display}.${expected.name}: ${actual.nullable ? 'nullable' : 'NOT NULL'}, expected ${expected.nullable ? 'nullable' : 'NOT NULL'}`,
      );
    }
  }
  const extra = live.filter((c) => !expectedNames.has(c.name)).map((c) => c.name);
  for (const name of extra) problems.push(`${table.display}.${name}: column not expected`);

  const orderDifferences: { column: string; expectedPosition: number; actualPosition: number }[] =
    [];
  if (options.checkOrder) {
    const expectedOrder = options.columns.map((c) => c.name).filter((n) => byName.has(n));
    const liveOrder = live.map((c) => c.name).filter((n) => expectedNames.has(n));
    expectedOrder.forEach((column, i) => {
      const actual = liveOrder.indexOf(column);
      if (actual !== i) {
        orderDifferences.push({ column, expectedPosition: i + 1, actualPosition: actual + 1 });
        problems.push(
          `${table.display}.${column}: at position ${actual + 1} among the expected columns, expected ${i + 1}`,
        );
      }
    });
  }

  return {
    table: table.display,
    tableExists: live.length > 0,
    ok: problems.length === 0,
    missing,
    extra,
    typeMismatches,
    nullabilityMismatches,
    orderDifferences,
    problems,
  };
}
