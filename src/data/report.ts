/**
 * @module data/report
 * The ingest report as text: a verdict line, then one line per check naming its rule, its column
 * and its figures, failures first.
 */
import { count } from './figures.js';
import type { CheckResult, IngestReport } from './types.js';

/** One check as `FAIL type Quantity: column 'Quantity': 3 of ...`. */
export function formatCheck(check: CheckResult): string {
  return `${check.passed ? 'ok  ' : 'FAIL'} ${check.check}${check.column ? ` ${check.column}` : ''}: ${check.message}`;
}

/** The verdict line of a report. */
export function reportHeadline(report: IngestReport): string {
  const failed = report.checks.filter((c) => !c.passed).length;
  const files = `${report.files.length} file${report.files.length === 1 ? '' : 's'}`;
  const verdict = report.accepted
    ? `accepted: ${count(report.rows)} rows from ${files}, all ${report.checks.length} checks passed`
    : `rejected: ${count(report.rows)} rows from ${files}, ${failed} of ${report.checks.length} checks failed; nothing was written`;
  return `Dataset '${report.dataset}' ${verdict}`;
}

/** The whole report as human text. */
export function formatReport(report: IngestReport): string {
  if (report.skipped) {
    return [
      `Dataset '${report.dataset}': nothing ingested, ${report.skipped.reason} (use --force to ingest it again)`,
      `partition: ${report.partition}`,
      `digest: ${report.digest}`,
    ].join('\n');
  }
  const ordered = [...report.checks.filter((c) => !c.passed), ...report.checks.filter((c) => c.passed)];
  const lines = [reportHeadline(report), ...ordered.map((c) => `  ${formatCheck(c)}`)];
  if (report.partition) lines.push(`partition: ${report.partition}`, `digest: ${report.digest}`);
  return lines.join('\n');
}
