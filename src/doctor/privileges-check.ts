import { type Finding, fail, pass, skip } from './check-result.js';
import type { DoctorTarget } from './config.js';
import type { TableCatalog } from './table-catalog.js';

/**
 * Can the connected role read the table and each mapped column? Table-level
 * SELECT, or column-level SELECT on every mapped column that exists, passes;
 * the missing privileges are named with the GRANT that adds them. Columns that
 * do not exist are the schema check's business.
 */
export function privilegesCheck(catalog: TableCatalog, target: DoctorTarget): Finding {
  if (!catalog.found) {
    return skip(`table ${target.table.display} not found: see the schema check`);
  }
  const { role } = catalog;
  if (!catalog.schemaUsage) {
    return fail(
      `role ${role} has no USAGE on schema ${catalog.schema}, so it cannot read ${target.table.display}`,
      `GRANT USAGE ON SCHEMA ${catalog.schema} TO ${role}; GRANT SELECT ON ${catalog.sql} TO ${role};`,
    );
  }
  const mapped = target.fields.flatMap((f) => {
    const column = catalog.columns.get(f.column);
    return column === undefined ? [] : [column];
  });
  if (catalog.tableSelect) {
    return pass(`role ${role} can SELECT ${target.table.display}`);
  }
  const denied = mapped.filter((c) => !c.canSelect);
  if (denied.length === 0) {
    return pass(
      `role ${role} can SELECT the ${mapped.length} mapped columns of ${target.table.display} (column privileges)`,
    );
  }
  const names = denied.map((c) => `${target.table.display}.${c.name}`).join(', ');
  return fail(
    `role ${role} has no SELECT on table ${target.table.display}, nor on column(s) ${names}`,
    `GRANT SELECT ON ${catalog.sql} TO ${role}; (or column by column: GRANT SELECT (${mapped.map((c) => c.sql).join(', ')}) ON ${catalog.sql} TO ${role};)`,
  );
}
