/**
 * @module cli/commands/tracking
 * `keel experiments list`, `keel runs list [--experiment]`, `keel runs show RUN_ID`.
 */
import type { Command } from 'commander';
import type { KeelConfig } from '../../core/index.js';
import type { Run, Tracking } from '../../tracking/index.js';
import { action, parseNumberOption } from '../io.js';
import { formatTable, formatTime } from '../table.js';

async function withTracking<T>(config: KeelConfig, fn: (t: Tracking) => Promise<T>): Promise<T> {
  const { Tracking } = await import('../../tracking/index.js');
  const tracking = await Tracking.open(config);
  try {
    return await fn(tracking);
  } finally {
    await tracking.close();
  }
}

const metricOf = (run: Run, key: string) => run.data.metrics.find((m) => m.key === key)?.value;

export function registerTrackingCommands(program: Command): void {
  const experiments = program.command('experiments').description('experiments in the tracking store');
  action(
    experiments
      .command('list')
      .description('list experiments')
      .option('--all', 'include deleted experiments')
      .option('--max <n>', 'at most this many', parseNumberOption('--max', true), 1000),
    async (io, opts: { all?: boolean; max: number }) => {
      const page = await withTracking(io.config, (t) =>
        t.experiments.search({ viewType: opts.all ? 'ALL' : 'ACTIVE_ONLY', maxResults: opts.max }),
      );
      io.emit(page.items, (items) =>
        formatTable(
          ['ID', 'NAME', 'STAGE', 'CREATED'],
          items.map((e) => [e.experiment_id, e.name, e.lifecycle_stage, formatTime(e.creation_time)]),
        ),
      );
    },
  );

  const runs = program.command('runs').description('runs in the tracking store');
  action(
    runs
      .command('list')
      .description('list runs, newest first')
      .option('-e, --experiment <name>', 'experiment name (default: all experiments)')
      .option('-f, --filter <filter>', 'MLflow filter, e.g. "metrics.auc > 0.8 and params.model = \'gbdt\'"')
      .option('-o, --order-by <clause...>', 'e.g. "metrics.auc DESC"')
      .option('--max <n>', 'at most this many', parseNumberOption('--max', true), 100),
    async (io, opts: { experiment?: string; filter?: string; orderBy?: string[]; max: number }) => {
      const page = await withTracking(io.config, async (t) => {
        const ids = opts.experiment
          ? [(await t.experiments.getByName(opts.experiment)).experiment_id]
          : (await t.experiments.search({ maxResults: 50_000 })).items.map((e) => e.experiment_id);
        return t.runs.search({
          experimentIds: ids,
          filter: opts.filter,
          orderBy: opts.orderBy,
          maxResults: opts.max,
        });
      });
      io.emit(page.items, (items) => {
        const metricKeys = [...new Set(items.flatMap((r) => r.data.metrics.map((m) => m.key)))]
          .sort()
          .slice(0, 4);
        return formatTable(
          ['RUN ID', 'NAME', 'EXP', 'STATUS', 'STARTED', ...metricKeys],
          items.map((r) => [
            r.info.run_id,
            r.info.run_name,
            r.info.experiment_id,
            r.info.status,
            formatTime(r.info.start_time),
            ...metricKeys.map((k) => {
              const v = metricOf(r, k);
              return v === undefined ? '' : String(Number(v.toPrecision(6)));
            }),
          ]),
        );
      });
    },
  );
  action(runs.command('show').description('show one run').argument('<run-id>'), async (io, runId: string) => {
    const run = await withTracking(io.config, (t) => t.runs.get(runId));
    io.emit(run, (r) => {
      const lines = [
        `run ${r.info.run_id} (${r.info.run_name})`,
        `  experiment  ${r.info.experiment_id}`,
        `  status      ${r.info.status}`,
        `  started     ${formatTime(r.info.start_time)}`,
        ...(r.info.end_time ? [`  ended       ${formatTime(r.info.end_time)}`] : []),
        `  artifacts   ${r.info.artifact_uri}`,
      ];
      const section = (title: string, rows: Array<[string, string]>) => {
        if (rows.length) lines.push(title, ...rows.map(([k, v]) => `  ${k} = ${v}`));
      };
      section(
        'params',
        r.data.params.map((p) => [p.key, p.value]),
      );
      section(
        'metrics',
        r.data.metrics.map((m) => [m.key, `${m.value} (step ${m.step})`]),
      );
      section(
        'tags',
        r.data.tags.map((t) => [t.key, t.value]),
      );
      section(
        'inputs',
        r.inputs.dataset_inputs.map((d) => [d.dataset.name, `${d.dataset.digest} ${d.dataset.source}`]),
      );
      return lines.join('\n');
    });
  });
}
