import type { ExpectedColumn } from '../schema/validate-schema.js';
import { validateSchema } from '../schema/validate-schema.js';
import { type Finding, fail, pass, skip } from './check-result.js';
import type { DoctorTarget } from './config.js';
import type { DoctorSession } from './session.js';

/** What each account field's column should be; other types that work equally well are accepted. */
const EXPECTED: Readonly<
  Record<
    string,
    { readonly type?: string; readonly also?: readonly string[]; readonly notNull?: boolean }
  >
> = {
  id: { notNull: true },
  // citext reports USER-DEFINED.
  identifier: {
    type: 'text',
    also: ['character varying', 'character', 'USER-DEFINED'],
    notNull: true,
  },
  // bytea would reach the verifier as a Buffer, which denies every login.
  passwordHash: { type: 'text', also: ['character varying', 'character'], notNull: true },
  active: { type: 'boolean' },
  mustChangePassword: { type: 'boolean' },
  lockedUntil: { type: 'timestamptz', also: ['timestamp without time zone'] },
};

/**
 * `validateSchema` against the mapped columns: the table exists, every mapped
 * column exists (a missing optional one too: the providers would run without
 * it, counting every account active, say), with a type the lookup can use and
 * the required ones NOT NULL. Columns the mapping does not name are ignored.
 */
export async function schemaCheck(
  session: DoctorSession,
  target: DoctorTarget,
  privilegesOk: boolean,
): Promise<Finding> {
  if (!privilegesOk) {
    return skip(
      `information_schema hides from role what it cannot read, so ${target.table.display} cannot be checked: see the privileges check`,
    );
  }
  const columns: ExpectedColumn[] = target.fields.map((f) => {
    const expected = EXPECTED[f.field];
    return {
      name: f.column,
      ...(expected?.type !== undefined && { type: expected.type }),
      ...(expected?.notNull && { nullable: false }),
    };
  });
  const report = await validateSchema(session.queryable, {
    table: {
      ...(target.table.schema !== undefined && { schema: target.table.schema }),
      name: target.table.name,
    },
    columns,
  });
  const display = target.table.display;
  if (!report.tableExists) {
    return fail(
      `table ${display} does not exist (or this role cannot see it)`,
      `run the migration that creates it (see referenceSchemaSql), or point ${target.configPath === 'env' ? 'RESILIENT_AUTH_TABLE' : `${target.configPath}.table`} at the right table`,
    );
  }
  const fieldOf = new Map(target.fields.map((f) => [f.column, f.field]));
  const problems: string[] = [];
  const hints = new Set<string>();
  for (const column of report.missing) {
    const field = fieldOf.get(column) ?? column;
    problems.push(`${display}.${column}: column missing (mapped to ${field})`);
    hints.add(
      `add the column (run the migration), or map ${field} to the right column (${mappingOption(target)})`,
    );
  }
  for (const m of report.typeMismatches) {
    const expected = EXPECTED[fieldOf.get(m.column) ?? ''];
    if (expected?.also?.includes(m.actual)) continue;
    problems.push(`${display}.${m.column}: type is ${m.actual}, expected ${m.expected}`);
    hints.add(
      `ALTER TABLE ${display} ALTER COLUMN ${m.column} TYPE ${m.expected} USING ...; or fix the mapping`,
    );
  }
  for (const m of report.nullabilityMismatches) {
    problems.push(`${display}.${m.column}: nullable, expected NOT NULL`);
    hints.add(`ALTER TABLE ${display} ALTER COLUMN ${m.column} SET NOT NULL;`);
  }
  if (problems.length > 0) return fail(problems.join('; '), [...hints].join('; '));
  return pass(`${display} has the ${columns.length} mapped columns, with usable types`);
}

function mappingOption(target: DoctorTarget): string {
  return target.configPath === 'env' ? 'RESILIENT_AUTH_COLUMNS' : `${target.configPath}.columns`;
}
