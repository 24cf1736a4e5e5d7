/**
 * @module cli/commands/drift
 * `keel drift --reference ref.parquet --current cur.parquet`: drift per column and for the
 * dataset, as Evidently's auto mode decides it. A drifting dataset exits 7 (FAILED_PRECONDITION),
 * so a pipeline or CI step can gate on it.
 */
import type { Command } from 'commander';
import { KeelError, writeFileAtomic } from '../../core/index.js';
import type { DatasetDrift } from '../../monitoring/index.js';
import { action, parseNumberOption } from '../io.js';
import { formatTable } from '../table.js';

interface DriftFlags {
  reference: string;
  current: string;
  columns?: string;
  driftShare?: number;
  html?: string;
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
      .option('--html <file>', 'also write a self-contained HTML report with a histogram per column'),
    async (io, flags: DriftFlags) => {
      const { detectDrift, driftReportHtml, readDriftTable } = await import('../../monitoring/index.js');
      const columns = flags.columns
        ?.split(',')
        .map((c) => c.trim())
        .filter(Boolean);
      const reference = await readDriftTable(flags.reference, columns);
      // The reference decides the columns, so a column the current file lacks is named as such.
      const current = await readDriftTable(flags.current, Object.keys(reference));
      const result = detectDrift({ reference, current, columns, driftShare: flags.driftShare });
      if (flags.html) writeFileAtomic(flags.html, driftReportHtml(result, reference, current));
      if (result.drifted) {
        throw new KeelError(
          'FAILED_PRECONDITION',
          `dataset drift: ${result.driftedColumns} of ${result.columns.length} columns drifted`,
          { details: { report: driftText(result), result } },
        );
      }
      io.emit(result, driftText);
    },
  );
}
