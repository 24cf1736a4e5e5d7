/**
 * @module cli/commands/drift
 * `keel drift --reference ref.parquet --current cur.parquet`: drift per column and for the
 * dataset, as Evidently's auto mode decides it unless a test is chosen. The table goes to stdout
 * whatever the verdict (with `--json`, the result document); a drifting dataset exits 7
 * (FAILED_PRECONDITION) with one line on stderr, so a pipeline or CI step can gate on it. Column
 * roles come from the reference file's metadata (`keel.column_roles`) and the --target,
 * --prediction, --id, --timestamp and --ignore flags.
 *
 * The test options follow Evidently's `DataDriftPreset` names: `--stattest` (`stattest`, or
 * `per_column_stattest` as `column=test`), `--num-stattest` / `--cat-stattest`, and
 * `--stattest-threshold` (`stattest_threshold` / `per_column_stattest_threshold`). As there, a
 * column's own choice beats its kind's, which beats the one for every column.
 */
import type { Command } from 'commander';
import { KeelError, writeFileAtomic } from '../../core/index.js';
import type { ColumnRole, DatasetDrift, DriftTable, StatTestName } from '../../monitoring/index.js';
import { action, type CsvFlags, csvFlags, csvOptionsFrom, parseNumberOption, repeatOption } from '../io.js';
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
  stattest?: string[];
  numStattest?: string;
  catStattest?: string;
  stattestThreshold?: string[];
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

/** `value` for every column, or `column=value` (split at the last `=`, tests and numbers have none). */
function perColumn(option: string, specs: string[]): { all?: string; columns: Record<string, string> } {
  const out: { all?: string; columns: Record<string, string> } = { columns: {} };
  for (const spec of specs) {
    const at = spec.lastIndexOf('=');
    if (at < 0) out.all = spec;
    else if (at === 0) throw new KeelError('INVALID_PARAMETER_VALUE', `${option}: '${spec}' names no column`);
    else out.columns[spec.slice(0, at)] = spec.slice(at + 1);
  }
  return out;
}

/**
 * The test and threshold of each column from the options, by Evidently's precedence; columns
 * left out keep the auto choice and the test's default threshold.
 */
function chosenTests(
  flags: DriftFlags,
  reference: DriftTable,
  columns: string[],
  known: readonly string[],
): { stattests: Record<string, StatTestName>; thresholds: Record<string, number> } {
  const test = (option: string, name: string): StatTestName => {
    if (!known.includes(name))
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `${option}: unknown test '${name}' (tests: ${known.join(', ')})`,
      );
    return name as StatTestName;
  };
  const tests = perColumn('--stattest', flags.stattest ?? []);
  const levels = perColumn('--stattest-threshold', flags.stattestThreshold ?? []);
  const level = (spec: string, value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !(n >= 0) || !Number.isFinite(n))
      throw new KeelError('INVALID_PARAMETER_VALUE', `--stattest-threshold: '${spec}' needs a number >= 0`);
    return n;
  };
  const stattests: Record<string, StatTestName> = {};
  const thresholds: Record<string, number> = {};
  // A column named only here must still be tested: the library names it if it is not.
  for (const [column, name] of Object.entries(tests.columns)) stattests[column] = test('--stattest', name);
  for (const [column, value] of Object.entries(levels.columns))
    thresholds[column] = level(`${column}=${value}`, value);
  for (const column of columns) {
    const kind = reference[column] instanceof Float64Array ? flags.numStattest : flags.catStattest;
    const option = reference[column] instanceof Float64Array ? '--num-stattest' : '--cat-stattest';
    const name = kind !== undefined ? test(option, kind) : tests.all && test('--stattest', tests.all);
    if (name && stattests[column] === undefined) stattests[column] = name;
    if (levels.all !== undefined && thresholds[column] === undefined)
      thresholds[column] = level(levels.all, levels.all);
  }
  return { stattests, thresholds };
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
        .option(
          '--stattest <test>',
          'test every column with <test> (ks, wasserstein, psi, jensenshannon, chisquare, z), or one column with <column>=<test>; repeatable',
          repeatOption,
        )
        .option('--num-stattest <test>', 'test every numerical column with <test>')
        .option('--cat-stattest <test>', 'test every categorical column with <test>')
        .option(
          '--stattest-threshold <t>',
          'drift threshold for every column, or <column>=<t>; a p-value test drifts below it, a distance at or above (default 0.05 / 0.1); repeatable',
          repeatOption,
        )
        .addHelpText(
          'after',
          '\nRoles a Parquet reference declares (keel.column_roles metadata, as keel demo writes) apply first; the flags add to them.\nColumns named id, datetime, target and prediction take those roles by default, as in Evidently.',
        ),
    ),
    async (io, flags: DriftFlags) => {
      const { detectDrift, driftReportHtml, readColumnRoles, readDriftTable, STAT_TESTS } = await import(
        '../../monitoring/index.js'
      );
      const columns = flags.columns ? names(flags.columns) : undefined;
      const csv = csvOptionsFrom(flags);
      const roles = { ...(await readColumnRoles(flags.reference)), ...flagRoles(flags) };
      const reference = await readDriftTable(flags.reference, columns, csv);
      // The reference decides the columns, so a column the current file lacks is named as such.
      const current = await readDriftTable(flags.current, Object.keys(reference), csv);
      const chosen = chosenTests(flags, reference, columns ?? Object.keys(reference), STAT_TESTS);
      const result = detectDrift({
        reference,
        current,
        columns,
        driftShare: flags.driftShare,
        roles,
        ...chosen,
      });
      if (flags.html) writeFileAtomic(flags.html, driftReportHtml(result, reference, current));
      io.emit(result, driftText);
      // The result is on stdout whatever the verdict; the exit code and one stderr line say it.
      const counted = result.columns.filter((c) => c.role === 'feature').length || result.columns.length;
      if (result.drifted)
        io.exitWith(
          'FAILED_PRECONDITION',
          `dataset drift: ${result.driftedColumns} of ${counted} columns drifted`,
        );
    },
  );
}
