/**
 * @module cli/commands/predictions
 * `keel predictions show --model <name> [--since <time>] [--until <time>] [--last N]`: what
 * `keel serve` logged for a model, read from the Parquet prediction log under the Keel home:
 * rows and requests per version (the canary's share too), then the latest rows.
 * `keel predictions performance --model <name> [--chunk day|hour | --chunk-rows N] [--min m=v]
 * [--max m=v]`: realised performance once labels arrived through `/feedback`, per version and
 * chunk; a chunk breaking a bound exits 7 (FAILED_PRECONDITION), as `keel evaluate` does.
 */
import type { Command } from 'commander';
import { isDuration, KeelError, parseDuration, systemClock } from '../../core/index.js';
import type { PerformanceResult, PerformanceThreshold } from '../../monitoring/index.js';
import { action, parseNumberOption, repeatOption } from '../io.js';
import { formatTable, formatTime } from '../table.js';

interface ShowFlags {
  model: string;
  since?: string;
  until?: string;
  last: number;
}

/**
 * A time as ms since the epoch: an ISO date or time, or a duration back from now (`30m`, `2h`, `7d`).
 * @throws KeelError INVALID_PARAMETER_VALUE naming the option.
 */
export function parseSince(option: string, value: string, now = systemClock.now()): number {
  if (isDuration(value)) return now - parseDuration(value, option);
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `${option} must be an ISO date or time (2024-05-01, 2024-05-01T12:00:00Z) or a duration back from now (30m, 2h, 7d); got '${value}'`,
    );
  return ms;
}

interface PerformanceFlags {
  model: string;
  since?: string;
  until?: string;
  chunk?: string;
  chunkRows?: number;
  task?: string;
  min: string[];
  max: string[];
}

/**
 * `--min roc_auc=0.7` / `--max log_loss=0.6` flags as thresholds, one per metric.
 * @throws KeelError INVALID_PARAMETER_VALUE naming the flag.
 */
export function parseBounds(min: string[], max: string[]): PerformanceThreshold[] {
  const byMetric = new Map<string, PerformanceThreshold>();
  for (const [flag, values] of [
    ['--min', min],
    ['--max', max],
  ] as const) {
    for (const value of values) {
      const m = /^([A-Za-z_][\w.]*)=(.+)$/.exec(value.trim());
      const bound = m ? Number(m[2]) : Number.NaN;
      if (!m || m[2].trim() === '' || !Number.isFinite(bound))
        throw new KeelError(
          'INVALID_PARAMETER_VALUE',
          `${flag} must be metric=number (roc_auc=0.7); got '${value}'`,
        );
      const t = byMetric.get(m[1]) ?? { metric: m[1] };
      byMetric.set(m[1], { ...t, [flag === '--min' ? 'min' : 'max']: bound });
    }
  }
  return [...byMetric.values()];
}

const fixed = (v: number | null) => (v === null ? '' : v.toFixed(4));

function performanceText(r: PerformanceResult): string {
  const names = Object.keys(r.versions[0].overall.metrics);
  const headers = ['chunk', 'start', 'logged', 'labelled', 'coverage', ...names, 'breaches'];
  const chunking = 'rows' in r.chunk ? `${r.chunk.rows} labelled rows` : `a UTC ${r.chunk.period}`;
  const out = [`${r.model} (${r.task}): realised performance per version, chunks of ${chunking}`];
  for (const v of r.versions) {
    const line = (label: string, c: (typeof v.chunks)[number]) => [
      label,
      formatTime(c.start),
      String(c.logged),
      String(c.labelled),
      `${(c.coverage * 100).toFixed(1)}%`,
      ...names.map((n) => fixed(c.metrics[n])),
      c.breaches
        .map(
          (b) =>
            `${b.metric} ${b.value.toFixed(4)} ${b.min !== undefined && b.value < b.min ? `< ${b.min}` : `> ${b.max}`}`,
        )
        .join('; '),
    ];
    const notes = v.chunks.flatMap((c) => c.notes.map((n) => `chunk ${c.index}: ${n}`));
    out.push(
      '',
      `version ${v.version}:`,
      formatTable(headers, [...v.chunks.map((c) => line(String(c.index), c)), line('all', v.overall)]),
      ...notes,
    );
  }
  return out.join('\n');
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
  action(
    predictions
      .command('performance')
      .description('realised performance per version and chunk, from the labels posted to /feedback')
      .requiredOption('-m, --model <name>', 'the registered model name')
      .option('--since <time>', 'only rows from this time: ISO date/time or a duration ago (30m, 2h, 7d)')
      .option('--until <time>', 'only rows before this time: ISO date/time or a duration ago')
      .option('--chunk <period>', 'chunk by UTC period: day or hour (default day)')
      .option(
        '--chunk-rows <n>',
        'chunk by this many labelled rows instead',
        parseNumberOption('--chunk-rows', true),
      )
      .option('--task <task>', 'binary or regression (default: binary when every label is 0 or 1)')
      .option(
        '--min <metric=value>',
        'flag chunks below this (repeatable; metrics or coverage)',
        repeatOption,
        [],
      )
      .option('--max <metric=value>', 'flag chunks above this (repeatable)', repeatOption, []),
    async (io, flags: PerformanceFlags) => {
      if (flags.chunk !== undefined && flags.chunkRows !== undefined)
        throw new KeelError('INVALID_PARAMETER_VALUE', 'give --chunk or --chunk-rows, not both');
      if (flags.chunk !== undefined && flags.chunk !== 'day' && flags.chunk !== 'hour')
        throw new KeelError('INVALID_PARAMETER_VALUE', `--chunk must be day or hour; got '${flags.chunk}'`);
      if (flags.chunkRows !== undefined && flags.chunkRows < 1)
        throw new KeelError(
          'INVALID_PARAMETER_VALUE',
          `--chunk-rows must be at least 1; got ${flags.chunkRows}`,
        );
      if (flags.task !== undefined && flags.task !== 'binary' && flags.task !== 'regression')
        throw new KeelError(
          'INVALID_PARAMETER_VALUE',
          `--task must be binary or regression; got '${flags.task}'`,
        );
      const thresholds = parseBounds(flags.min, flags.max);
      const { realisedPerformance } = await import('../../monitoring/index.js');
      const result = await realisedPerformance({
        home: io.config.home,
        model: flags.model,
        from: flags.since === undefined ? undefined : parseSince('--since', flags.since),
        to: flags.until === undefined ? undefined : parseSince('--until', flags.until),
        chunk:
          flags.chunkRows === undefined
            ? { period: flags.chunk === 'hour' ? 'hour' : 'day' }
            : { rows: flags.chunkRows },
        task: flags.task as 'binary' | 'regression' | undefined,
        thresholds,
      });
      if (!result.passed) {
        const broken = result.versions.flatMap((v) =>
          v.chunks.filter((c) => c.breaches.length > 0).map((c) => `${v.version}/${c.index}`),
        );
        throw new KeelError(
          'FAILED_PRECONDITION',
          `realised performance breaks a threshold in ${broken.length} chunk(s) (version/chunk: ${broken.join(', ')})`,
          { details: { report: performanceText(result), result } },
        );
      }
      io.emit(result, performanceText);
    },
  );
}
