/**
 * @module cli/commands/drift
 * `keel drift --reference ref.parquet --current cur.parquet`: drift per column and for the
 * dataset, as Evidently's auto mode decides it. The table goes to stdout whatever the verdict; a
 * drifting dataset exits 7 (FAILED_PRECONDITION) with one line on stderr, so a pipeline or CI
 * step can gate on it. Column roles come from the reference file's metadata (`keel.column_roles`)
 * and the --target, --prediction, --id, --timestamp and --ignore flags.
 */
import type { Command } from 'commander';
import { KeelError, writeFileAtomic } from '../../core/index.js';
import type { ColumnRole, DatasetDrift } from '../../monitoring/index.js';
import { action, type CsvFlags, csvFlags, csvOptionsFrom, parseNumberOption, reportError } from '../io.js';
import { formatTable } from '../table.js';

interface DriftFlags extends CsvFlags {
  reference: string;
  current: string;
  columns?: string;
  driftShare?: number;
  html?: string;
  target?: string;
  prediction?: string;
  id?: string;
  timestamp?: string;
  ignore?: string;
}

const names = (value: string | undefined) =>
  value
    ?.split(',')
    .map((c) => c.trim())
    .filter(Boolean) ?? [];

/** The roles the flags give, over those the reference file declares. */
function flagRoles(flags: DriftFlags): Record<string, ColumnRole> {
  const roles: Record<string, ColumnRole> = {};
  for (const role of ['target', 'prediction', 'id', 'timestamp'] as const) {
    for (const c of names(flags[role])) roles[c] = role;
  }
  for (const c of names(flags.ignore)) roles[c] = 'ignored';
  return roles;
}

const value = (x: number): string =>
  Number.isNaN(x) ? 'NaN' : x === 0 || Math.abs(x) >= 1e-4 ? x.toFixed(4) : x.toExponential(2);

export function driftText(result: DatasetDrift): string {
  const table = formatTable(
    ['column', 'type', 'test', 'value', 'threshold', 'drifted'],
    result.columns.map((c) => [
      c.role === 'feature' ? c.column : `${c.column} (${c.role})`,
      c.type,
      c.test,
      c.note ?? value(c.score),
      String(c.threshold),
      c.drifted ? 'yes' : 'no',
    ]),
  );
  const counted = result.columns.filter((c) => c.role === 'feature').length || result.columns.length;
  const lines = [table];
  const outside = result.columns.filter((c) => c.role !== 'feature');
  if (outside.length > 0 && outside.length < result.columns.length) {
    lines.push(`not in the verdict: ${outside.map((c) => `${c.column} (${c.role})`).join(', ')}`);
  }
  if (result.skipped.length > 0) {
    lines.push(`not tested: ${result.skipped.map((c) => `${c.column} (${c.role})`).join(', ')}`);
  }
  lines.push(
    `${result.drifted ? 'dataset drift' : 'no dataset drift'}: ${result.driftedColumns} of ${counted} columns drifted (share ${result.share.toFixed(3)}, threshold ${result.driftShare})`,
  );
  return lines.join('\n');
}

export function registerDriftCommand(program: Command): void {
  action(
    csvFlags(
      program
        .command('drift')
        .description(
          'test every column of a current table for drift from a reference table (Evidently auto mode)',
        )
        .requiredOption('-r, --reference <file>', 'the reference table: .parquet, .csv or .csv.gz')
        .requiredOption('-c, --current <file>', 'the current table, with the same columns')
        .option('--columns <names>', 'columns to test, comma-separated (default: every reference column)')
        .option(
          '--drift-share <share>',
          'share of drifted columns at which the dataset drifts (default 0.5)',
          parseNumberOption('--drift-share'),
        )
        .option('--html <file>', 'also write a self-contained HTML report with a histogram per column')
        .option('--target <columns>', 'label column(s): tested, but not in the dataset verdict')
        .option('--prediction <columns>', 'prediction column(s): tested, but not in the dataset verdict')
        .option('--id <columns>', 'id column(s): not tested')
        .option('--timestamp <columns>', 'time column(s): not tested')
        .option('--ignore <columns>', 'columns not to test (a split flag, a free-text note)')
        .addHelpText(
          'after',
          '\nRoles a Parquet reference declares (keel.column_roles metadata, as keel demo writes) apply first; the flags add to them.\nColumns named id, datetime, target and prediction take those roles by default, as in Evidently.',
        ),
    ),
    async (io, flags: DriftFlags) => {
      const { detectDrift, driftReportHtml, readColumnRoles, readDriftTable } = await import(
        '../../monitoring/index.js'
      );
      const columns = flags.columns ? names(flags.columns) : undefined;
      const csv = csvOptionsFrom(flags);
      const roles = { ...(await readColumnRoles(flags.reference)), ...flagRoles(flags) };
      const reference = await readDriftTable(flags.reference, columns, csv);
      // The reference decides the columns, so a column the current file lacks is named as such.
      const current = await readDriftTable(flags.current, Object.keys(reference), csv);
      const result = detectDrift({ reference, current, columns, driftShare: flags.driftShare, roles });
      if (flags.html) writeFileAtomic(flags.html, driftReportHtml(result, reference, current));
      const counted = result.columns.filter((c) => c.role === 'feature').length || result.columns.length;
      const verdict = new KeelError(
        'FAILED_PRECONDITION',
        `dataset drift: ${result.driftedColumns} of ${counted} columns drifted`,
        { details: { result } },
      );
      // --json: one document, the error with the result in its details, as before.
      if (result.drifted && io.json) throw verdict;
      io.emit(result, driftText);
      // The table is on stdout whatever the verdict; the exit code and one stderr line say it.
      if (result.drifted) process.exitCode = reportError(verdict, false);
    },
  );
}
