/**
 * @module cli/commands/monitor
 * `keel monitor profile --model M --version V [--data file] [--rebuild]`: a version's reference
 * profile (built from its run's training data, or `--data`, on first use, then stored).
 */
import type { Command } from 'commander';
import type { KeelConfig } from '../../core/index.js';
import type { Monitoring, ReferenceProfile } from '../../monitoring/index.js';
import { action } from '../io.js';
import { formatTable } from '../table.js';

/** Runs `fn` with the Monitoring facade of the project, closed afterwards. */
export async function withMonitoring<T>(config: KeelConfig, fn: (m: Monitoring) => Promise<T>): Promise<T> {
  const { Monitoring } = await import('../../monitoring/index.js');
  const monitoring = await Monitoring.open(config);
  try {
    return await fn(monitoring);
  } finally {
    await monitoring.close();
  }
}

const num = (v: number | null | undefined): string =>
  v === null || v === undefined
    ? ''
    : Math.abs(v) >= 1000 || v === Math.round(v)
      ? String(+v.toFixed(2))
      : v.toFixed(4);

/** The profile without its samples, for `--json`. */
export function profileSummary(p: ReferenceProfile) {
  return {
    ...p,
    features: p.features.map(({ sample, ...f }) => ({ ...f, sampleRows: sample.length })),
    scores: { ...p.scores, sample: undefined, sampleRows: p.scores.sample.length },
  };
}

function profileText(p: ReferenceProfile): string {
  const rows = [...p.features, p.scores].map((f) =>
    f.type === 'numerical'
      ? [
          f.name,
          f.type,
          `${((f.missing / Math.max(f.rows, 1)) * 100).toFixed(1)}%`,
          num(f.min),
          num(f.max),
          f.breakpoints.length ? `${num(f.breakpoints[0])} .. ${num(f.breakpoints[8])}` : '',
        ]
      : [
          f.name,
          f.type,
          `${((f.missing / Math.max(f.rows, 1)) * 100).toFixed(1)}%`,
          '',
          '',
          `${f.categories.length} categories`,
        ],
  );
  const metrics = Object.entries(p.metrics)
    .map(([k, v]) => `${k}=${num(v)}`)
    .join(', ');
  return [
    `reference profile of ${p.model} version ${p.version}: ${p.rows} rows of ${p.source.path ?? 'unknown data'} (sample ${p.sampleRows} rows), task ${p.task}`,
    formatTable(['feature', 'type', 'missing', 'min', 'max', 'deciles 10%..90%'], rows),
    `baseline metrics: ${metrics || '(none: the version has no run)'}`,
  ].join('\n');
}

export function registerMonitorCommands(program: Command): void {
  const monitor = program
    .command('monitor')
    .description('continuous monitoring: reference profiles, monitor runs, alerts');
  action(
    monitor
      .command('profile')
      .description("show a version's reference profile, building it from its training data on first use")
      .requiredOption('-m, --model <name>', 'registered model')
      .requiredOption('--version <n>', 'model version')
      .option('--data <file>', 'build it from this CSV or Parquet file (replaces a stored profile)')
      .option('--rebuild', 'build it again from the run’s training data'),
    async (io, opts: { model: string; version: string; data?: string; rebuild?: boolean }) => {
      const profile = await withMonitoring(io.config, (m) =>
        m.profile(opts.model, opts.version, { data: opts.data, rebuild: opts.rebuild }),
      );
      io.emit(profileSummary(profile), () => profileText(profile));
    },
  );
}
