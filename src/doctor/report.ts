import type { CheckResult } from './check-result.js';
import type { Redactor } from './redactor.js';

/** The `--json` document. */
export interface DoctorReport {
  /** True when no check failed (skips do not count). */
  readonly ok: boolean;
  readonly checks: readonly CheckResult[];
}

const CHECK_WIDTH = 'privileges'.length;

/** One report line: `PASS connect    primary: ... - hint: ...`, redacted. */
export function formatLine(result: CheckResult, redactor: Redactor): string {
  const status = result.status.toUpperCase();
  const hint = result.hint === undefined ? '' : ` - hint: ${result.hint}`;
  return redactor.redact(
    `${status} ${result.check.padEnd(CHECK_WIDTH)} ${result.provider}: ${result.message}${hint}`,
  );
}

/** The closing line of the text report: `5 passed, 1 failed, 2 skipped`. */
export function formatSummary(results: readonly CheckResult[]): string {
  const count = (status: CheckResult['status']) =>
    results.filter((r) => r.status === status).length;
  return `${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped`;
}

/** The `--json` document, every message and hint redacted. */
export function jsonReport(results: readonly CheckResult[], redactor: Redactor): DoctorReport {
  return {
    ok: results.every((r) => r.status !== 'fail'),
    checks: results.map((r) => ({
      ...r,
      message: redactor.redact(r.message),
      ...(r.hint !== undefined && { hint: redactor.redact(r.hint) }),
    })),
  };
}
