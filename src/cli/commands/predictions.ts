/**
 * @module cli/commands/predictions
 * `keel predictions show --model <name> [--since <time>] [--until <time>] [--last N]`: what
 * `keel serve` logged for a model, read from the Parquet prediction log under the Keel home:
 * rows and requests per version (the canary's share too), then the latest rows.
 */
import type { Command } from 'commander';
import { KeelError } from '../../core/index.js';
import { action, parseNumberOption } from '../io.js';
import { formatTable, formatTime } from '../table.js';

interface ShowFlags {
  model: string;
  since?: string;
  until?: string;
  last: number;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A time as ms since the epoch: an ISO date or time, or a duration back from now (`30m`, `2h`, `7d`).
 * @throws KeelError INVALID_PARAMETER_VALUE naming the option.
 */
export function parseSince(option: string, value: string, now = Date.now()): number {
  const ago = /^(\d+(?:\.\d+)?)([smhd])$/.exec(value.trim());
  if (ago) return now - Number(ago[1]) * UNITS[ago[2]];
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `${option} must be an ISO date or time (2024-05-01, 2024-05-01T12:00:00Z) or a duration back from now (30m, 2h, 7d); got '${value}'`,
    );
  return ms;
}

export function registerPredictionsCommands(program: Command): void {
  const predictions = program
    .command('predictions')
    .description('the prediction log: every row keel serve scored online, with its inputs');
  action(
    predictions
      .command('show')
      .description('rows and requests logged per version of a model, and the latest rows')
      .requiredOption('-m, --model <name>', 'the registered model name')
      .option('--since <time>', 'only rows from this time: ISO date/time or a duration ago (30m, 2h, 7d)')
      .option('--until <time>', 'only rows before this time: ISO date/time or a duration ago')
      .option('--last <n>', 'how many of the latest rows to show', parseNumberOption('--last', true), 10),
    async (io, flags: ShowFlags) => {
      const query = {
        home: io.config.home,
        model: flags.model,
        from: flags.since === undefined ? undefined : parseSince('--since', flags.since),
        to: flags.until === undefined ? undefined : parseSince('--until', flags.until),
      };
      // Loaded on use, so other commands do not pay for DuckDB at startup.
      const { readPredictions, summarizePredictions } = await import('../../monitoring/index.js');
      const versions = await summarizePredictions(query);
      const latest = await readPredictions({ ...query, labels: true, last: flags.last });
      io.emit({ model: flags.model, versions, latest }, (r) => {
        const rows = r.versions.reduce((s, v) => s + v.rows, 0);
        return [
          `${r.model}: ${rows} rows logged`,
          formatTable(
            ['version', 'rows', 'requests', 'canary rows', 'first', 'last'],
            r.versions.map((v) => [
              v.version,
              String(v.rows),
              String(v.requests),
              String(v.canaryRows),
              formatTime(v.first),
              formatTime(v.last),
            ]),
          ),
          '',
          `latest ${r.latest.length} rows:`,
          formatTable(
            ['time', 'request id', 'row', 'version', 'canary', 'score', 'ms', 'label'],
            r.latest.map((p) => [
              formatTime(p.timestamp),
              p.requestId,
              String(p.row),
              p.version,
              p.canary ? 'yes' : '',
              p.score === null ? '' : p.score.toFixed(4),
              p.latencyMs.toFixed(2),
              p.label === null || p.label === undefined ? '' : String(p.label),
            ]),
          ),
        ].join('\n');
      });
    },
  );
}
