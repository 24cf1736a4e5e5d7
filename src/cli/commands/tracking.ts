/**
 * @module cli/commands/tracking
 * `keel experiments list`, `keel runs list [--experiment] [--columns]`, `keel runs show RUN_ID`,
 * `keel runs end RUN_ID`, `keel runs delete RUN_ID`.
 */
import type { Command } from 'commander';
import { invalid, type KeelConfig } from '../../core/index.js';
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

const COLUMN = /^(metrics|params|tags)\.(.+)$/;

/** A run's value for a column named as in filters: `metrics.roc_auc`, `params.model_kind`, `tags.x`. */
function columnValue(run: Run, column: string): string {
  const [, kind, key] = COLUMN.exec(column) ?? [];
  if (kind === 'metrics') {
    const v = metricOf(run, key);
    return v === undefined ? '' : String(Number(v.toPrecision(6)));
  }
  const list = kind === 'params' ? run.data.params : run.data.tags;
  return list.find((p) => p.key === key)?.value ?? '';
}

/** The key an order-by clause sorts on, as a column name (`metrics.roc_auc`), if it names one. */
function sortColumn(clause: string): string | undefined {
  const key = clause
    .trim()
    .replace(/\s+(ASC|DESC)$/i, '')
    .replaceAll('`', '');
  const m = /^(metrics?|params?|tags?)\.(.+)$/i.exec(key);
  if (!m) return undefined;
  const kind = m[1].toLowerCase().replace(/s?$/, 's');
  return `${kind}.${m[2]}`;
}

/**
 * The columns `runs list` shows: `--columns` as given, else the first four metric keys; the
 * `--order-by` keys are always among them, so the sort is visible.
 */
function listColumns(items: Run[], columns: string[] | undefined, orderBy: string[] = []): string[] {
  const chosen =
    columns ??
    [...new Set(items.flatMap((r) => r.data.metrics.map((m) => m.key)))]
      .sort()
      .slice(0, 4)
      .map((k) => `metrics.${k}`);
  const sorted = orderBy.map(sortColumn).filter((c): c is string => c !== undefined);
  return [...new Set([...sorted, ...chosen])];
}

function parseColumns(value: string): string[] {
  const columns = value
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  for (const c of columns) {
    if (!COLUMN.test(c)) throw invalid(`--columns: '${c}' must be metrics.<key>, params.<key> or tags.<key>`);
  }
  return columns;
}

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
      .option('-o, --order-by <clause...>', 'e.g. "metrics.auc DESC" (its key is always shown)')
      .option(
        '-c, --columns <list>',
        'columns to show, e.g. metrics.roc_auc,params.model_kind,tags.mlflow.source.git.commit (default: four metrics)',
        parseColumns,
      )
      .option('--max <n>', 'at most this many', parseNumberOption('--max', true), 100),
    async (
      io,
      opts: { experiment?: string; filter?: string; orderBy?: string[]; columns?: string[]; max: number },
    ) => {
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
        const columns = listColumns(items, opts.columns, opts.orderBy);
        return formatTable(
          ['RUN ID', 'NAME', 'EXP', 'STATUS', 'STARTED', ...columns.map((c) => c.replace(/^metrics\./, ''))],
          items.map((r) => [
            r.info.run_id,
            r.info.run_name,
            r.info.experiment_id,
            r.info.status,
            formatTime(r.info.start_time),
            ...columns.map((c) => columnValue(r, c)),
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
  action(
    runs
      .command('end')
      .description('end a run left RUNNING (a crashed script, a killed repro)')
      .argument('<run-id>')
      .option('--status <status>', 'FINISHED, FAILED or KILLED', 'FINISHED'),
    async (io, runId: string, opts: { status: string }) => {
      const status = opts.status.toUpperCase();
      if (!['FINISHED', 'FAILED', 'KILLED'].includes(status)) {
        throw invalid(`--status must be FINISHED, FAILED or KILLED, got '${opts.status}'`);
      }
      const info = await withTracking(io.config, (t) =>
        t.runs.update(runId, { status: status as 'FINISHED' | 'FAILED' | 'KILLED' }),
      );
      io.emit(info, (i) => `run ${i.run_id} ended: ${i.status}`);
    },
  );
  action(
    runs
      .command('delete')
      .description('delete a run (MLflow semantics: marked deleted, hidden from lists, restorable)')
      .argument('<run-id>')
      .option('--restore', 'undo a delete'),
    async (io, runId: string, opts: { restore?: boolean }) => {
      await withTracking(io.config, (t) => t.runs.setLifecycle(runId, opts.restore ? 'active' : 'deleted'));
      io.emit({ run_id: runId, lifecycle_stage: opts.restore ? 'active' : 'deleted' }, (r) =>
        opts.restore
          ? `run ${r.run_id} restored`
          : `run ${r.run_id} deleted (keel runs delete ${r.run_id} --restore undoes it)`,
      );
    },
  );
}
