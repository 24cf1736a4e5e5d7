/**
 * @module cli/commands/drift
 * `keel drift --reference ref.parquet --current cur.parquet`: drift per column and for the
 * dataset, as Evidently's auto mode decides it unless a test is chosen. A drifting dataset exits 7
 * (FAILED_PRECONDITION), so a pipeline or CI step can gate on it; the output is the result either
 * way (with `--json`, the same document).
 *
 * The test options follow Evidently's `DataDriftPreset` names: `--stattest` (`stattest`, or
 * `per_column_stattest` as `column=test`), `--num-stattest` / `--cat-stattest`, and
 * `--stattest-threshold` (`stattest_threshold` / `per_column_stattest_threshold`). As there, a
 * column's own choice beats its kind's, which beats the one for every column.
 */
import type { Command } from 'commander';
import { KeelError, writeFileAtomic } from '../../core/index.js';
import type { DatasetDrift, DriftTable, StatTestName } from '../../monitoring/index.js';
import { action, parseNumberOption, repeatOption } from '../io.js';
import { formatTable } from '../table.js';

interface DriftFlags {
  reference: string;
  current: string;
  columns?: string;
  driftShare?: number;
  html?: string;
  stattest?: string[];
  numStattest?: string;
  catStattest?: string;
  stattestThreshold?: string[];
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
      c.column,
      c.type,
      c.test,
      value(c.score),
      String(c.threshold),
      c.drifted ? 'yes' : 'no',
    ]),
  );
  const verdict = `${result.drifted ? 'dataset drift' : 'no dataset drift'}: ${result.driftedColumns} of ${result.columns.length} columns drifted (share ${result.share.toFixed(3)}, threshold ${result.driftShare})`;
  return `${table}\n${verdict}`;
}

export function registerDriftCommand(program: Command): void {
  action(
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
      ),
    async (io, flags: DriftFlags) => {
      const { detectDrift, driftReportHtml, readDriftTable, STAT_TESTS } = await import(
        '../../monitoring/index.js'
      );
      const columns = flags.columns
        ?.split(',')
        .map((c) => c.trim())
        .filter(Boolean);
      const reference = await readDriftTable(flags.reference, columns);
      // The reference decides the columns, so a column the current file lacks is named as such.
      const current = await readDriftTable(flags.current, Object.keys(reference));
      const chosen = chosenTests(flags, reference, columns ?? Object.keys(reference), STAT_TESTS);
      const result = detectDrift({ reference, current, columns, driftShare: flags.driftShare, ...chosen });
      if (flags.html) writeFileAtomic(flags.html, driftReportHtml(result, reference, current));
      io.emit(result, driftText);
      if (result.drifted)
        io.exitWith(
          'FAILED_PRECONDITION',
          `dataset drift: ${result.driftedColumns} of ${result.columns.length} columns drifted`,
        );
    },
  );
}
