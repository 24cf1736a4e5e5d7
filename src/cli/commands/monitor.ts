/**
 * @module cli/commands/monitor
 * - `keel monitor run [--model M] [--window 2h] [--as-of ISO]`: one run of the monitor of a model
 *   (or of every model with a monitor in keel.yaml) over the window ending now or at `--as-of`,
 *   stored in the metadata database; for cron or a Kubernetes CronJob, as `keel serve` does on
 *   its schedule.
 * - `keel monitor show [--model M]`: the latest run of each model; `keel monitor history --model M`.
 * - `keel monitor alerts [--model M] [--status firing|resolved|all]`: alerts, and the notifications
 *   still waiting for a destination.
 * - `keel monitor profile M V [--data file] [--rebuild]`: a version's reference
 *   profile (built from its run's training data, or `--data`, on first use, then stored).
 */
import type { Command } from 'commander';
import { formatDuration, type KeelConfig, KeelError, parseDuration } from '../../core/index.js';
import type {
  Alert,
  Evaluation,
  Monitoring,
  MonitorReport,
  MonitorResult,
  ReferenceProfile,
} from '../../monitoring/index.js';
import { action, parseNumberOption } from '../io.js';
import { formatTable, formatTime } from '../table.js';
import { parseSince } from './predictions.js';

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

const pct = (v: number | null | undefined) =>
  v === null || v === undefined ? '' : `${(v * 100).toFixed(1)}%`;
const fix = (v: number | null | undefined, digits = 4) =>
  v === null || v === undefined
    ? ''
    : Math.abs(v) > 0 && Math.abs(v) < 1e-4
      ? v.toExponential(2)
      : v.toFixed(digits);

export function breachText(e: Evaluation): string {
  const version = e.version ? ` (version ${e.version})` : '';
  return `${e.rule} ${e.subject}${version}: ${fix(e.value)} against ${e.threshold} (${e.detail})`;
}

function alertLine(a: Alert): string {
  const version = a.version ? ` version ${a.version}` : '';
  return `${a.rule} ${a.subject} of ${a.model}${version}: ${fix(a.latest.value)} against ${a.threshold}`;
}

function runText(r: MonitorResult): string {
  const lines = [reportText(r)];
  for (const a of r.alerts.fired) lines.push(`ALERT FIRING (${a.id}): ${alertLine(a)}`);
  for (const a of r.alerts.resolved) lines.push(`alert resolved (${a.id}): ${alertLine(a)}`);
  if (r.alerts.ongoing.length)
    lines.push(`still firing: ${r.alerts.ongoing.map((a) => `${a.rule} ${a.subject}`).join(', ')}`);
  return lines.join('\n');
}

export function reportText(r: MonitorReport): string {
  const lines = [
    `${r.model}: window ${formatTime(r.window.start)} .. ${formatTime(r.window.end)} UTC (${formatDuration(r.window.end - r.window.start)}), ${r.rows} rows, ${r.status === 'no_data' ? 'NO DATA (nothing logged or counted: not judged)' : r.status}${r.id ? ` (run ${r.id})` : ''}`,
  ];
  if (r.volume.previousMean !== null)
    lines.push(
      `volume: ${r.rows} rows, ${fix(r.volume.ratio, 2)}x the previous windows' mean of ${fix(r.volume.previousMean, 1)}`,
    );
  for (const v of r.versions) {
    const ref = v.reference
      ? `${v.reference.kind === 'profile' ? 'its reference profile' : `dataset ${v.reference.path}`} (${v.reference.rows} rows)`
      : `no reference: ${v.referenceError}`;
    lines.push(`version ${v.version}: ${v.rows} rows (${v.canaryRows} as canary), against ${ref}`);
    if (v.schema && (v.schema.missing.length || v.schema.retyped.length))
      lines.push(
        `  schema drift: ${[...v.schema.missing.map((c) => `'${c}' missing`), ...v.schema.retyped.map((c) => `'${c.column}' is ${c.found}, profiled ${c.expected}`)].join('; ')}`,
      );
    if (v.features.length)
      lines.push(
        formatTable(
          ['  feature', 'status', 'missing', 'out of range', 'psi', 'test', 'score', 'drifted'],
          v.features.map((f) => [
            `  ${f.name}`,
            f.status,
            pct(f.missingShare),
            pct(f.outOfRangeShare),
            fix(f.psi),
            f.test?.name ?? '',
            fix(f.test?.score),
            f.test ? (f.test.drifted ? 'yes' : 'no') : '',
          ]),
        ),
      );
    const p = v.prediction;
    if (p)
      lines.push(
        p.ks
          ? `  prediction drift: KS p = ${fix(p.ks.pValue)} (D = ${fix(p.ks.statistic)}), mean score ${fix(p.mean)} against ${fix(p.referenceMean)}`
          : `  prediction drift: ${p.status === 'no_data' ? 'no data' : `insufficient data (${p.rows} scores)`}`,
      );
    const perf = v.performance;
    if (perf)
      lines.push(
        perf.status === 'ok'
          ? `  performance: ${perf.metric} ${fix(perf.value)} on ${perf.labelled} labelled rows (coverage ${pct(perf.coverage)}), baseline ${fix(perf.baseline)}, drop ${pct(perf.drop)}`
          : `  performance: ${perf.status === 'no_data' ? 'no labels yet' : `insufficient labels (${perf.labelled})`}`,
      );
    const s = v.service;
    if (s)
      lines.push(
        `  service: ${s.requests} requests, ${pct(s.errorRate)} failed, latency p50 ${fix(s.p50Ms, 2)} ms, p95 ${fix(s.p95Ms, 2)} ms, p99 ${fix(s.p99Ms, 2)} ms, ${fix(s.throughput, 3)} req/s`,
      );
  }
  lines.push(
    r.breaches.length
      ? `breaches:\n${r.breaches.map((b) => `  ${breachText(b)}`).join('\n')}`
      : 'breaches: none',
  );
  lines.push(
    `timings (ms): ${Object.entries(r.timings)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  return lines.join('\n');
}

export function registerMonitorCommands(program: Command): void {
  const monitor = program
    .command('monitor')
    .description('continuous monitoring: reference profiles, monitor runs, alerts');
  action(
    monitor
      .command('run')
      .description(
        'run the monitor of a model (or of every model with a monitor in keel.yaml) over one window of the prediction log',
      )
      .option('-m, --model <name>', 'the model (default: every model under monitoring.models)')
      .option('--window <duration>', "the window's length, e.g. 1h or 7d (default: the monitor's, or 1h)")
      .option('--as-of <time>', 'the window ends here: an ISO time (default now)'),
    async (io, opts: { model?: string; window?: string; asOf?: string }) => {
      const windowMs = opts.window === undefined ? undefined : parseDuration(opts.window, '--window');
      const asOf = opts.asOf === undefined ? undefined : parseSince('--as-of', opts.asOf);
      const reports = await withMonitoring(io.config, async (m) => {
        const models = opts.model ? [opts.model] : m.monitoredModels();
        if (models.length === 0)
          throw new KeelError(
            'INVALID_PARAMETER_VALUE',
            'no model to monitor: give --model, or add monitors under monitoring.models in keel.yaml',
          );
        const out: MonitorResult[] = [];
        for (const model of models) out.push(await m.run(model, { windowMs, asOf }));
        return out;
      });
      io.emit(opts.model ? reports[0] : reports, () => reports.map(runText).join('\n\n'));
    },
  );
  action(
    monitor
      .command('show')
      .description('the latest monitor run of each model (or of one)')
      .option('-m, --model <name>', 'only this model'),
    async (io, opts: { model?: string }) => {
      const reports = await withMonitoring(io.config, (m) => m.runs.latest(opts.model));
      io.emit(reports, () =>
        reports.length ? reports.map(reportText).join('\n\n') : 'no monitor run yet (keel monitor run)',
      );
    },
  );
  action(
    monitor
      .command('alerts')
      .description('alerts (firing by default) and the notifications still waiting for delivery')
      .option('-m, --model <name>', 'only this model')
      .option('--status <status>', 'firing, resolved or all', 'firing'),
    async (io, opts: { model?: string; status: string }) => {
      if (!['firing', 'resolved', 'all'].includes(opts.status))
        throw new KeelError(
          'INVALID_PARAMETER_VALUE',
          `--status must be firing, resolved or all; got '${opts.status}'`,
        );
      const status = opts.status as 'firing' | 'resolved' | 'all';
      const result = await withMonitoring(io.config, async (m) => ({
        alerts: await m.alerts.list({ model: opts.model, status }),
        pendingNotifications: await m.notifier.pending(),
      }));
      io.emit(result, (r) =>
        [
          formatTable(
            [
              'id',
              'status',
              'model',
              'version',
              'rule',
              'subject',
              'value',
              'threshold',
              'since (UTC)',
              'resolved',
            ],
            r.alerts.map((a) => [
              String(a.id),
              a.status,
              a.model,
              a.version,
              a.rule,
              a.subject,
              fix(a.latest.value),
              String(a.threshold),
              formatTime(a.startedAt),
              a.resolvedAt === null ? '' : formatTime(a.resolvedAt),
            ]),
          ),
          r.pendingNotifications.length
            ? `${r.pendingNotifications.length} notification(s) waiting: ${r.pendingNotifications
                .map(
                  (n) =>
                    `${n.kind} of alert ${n.alertId} to ${n.destination} (${n.attempts} attempts${n.lastError ? `, last: ${n.lastError}` : ''})`,
                )
                .join('; ')}`
            : 'every notification delivered',
        ].join('\n'),
      );
    },
  );
  action(
    monitor
      .command('history')
      .description("a model's monitor runs, newest window first")
      .requiredOption('-m, --model <name>', 'the model')
      .option('--last <n>', 'how many runs', parseNumberOption('--last', true), 20),
    async (io, opts: { model: string; last: number }) => {
      const reports = await withMonitoring(io.config, (m) => m.runs.history(opts.model, opts.last));
      io.emit(reports, () =>
        formatTable(
          ['run', 'window start (UTC)', 'end', 'status', 'rows', 'cause', 'breaches'],
          reports.map((r) => [
            String(r.id),
            formatTime(r.window.start),
            formatTime(r.window.end),
            r.status,
            String(r.rows),
            r.cause,
            r.breaches.map((b) => `${b.rule} ${b.subject}`).join(', '),
          ]),
        ),
      );
    },
  );
  action(
    monitor
      .command('profile')
      .description("show a version's reference profile, building it from its training data on first use")
      .argument('<model>', 'registered model')
      .argument('<version>', 'model version')
      .option('--data <file>', 'build it from this CSV or Parquet file (replaces a stored profile)')
      .option('--rebuild', 'build it again from the run’s training data'),
    async (io, model: string, version: string, opts: { data?: string; rebuild?: boolean }) => {
      const profile = await withMonitoring(io.config, (m) =>
        m.profile(model, version, { data: opts.data, rebuild: opts.rebuild }),
      );
      io.emit(profileSummary(profile), () => profileText(profile));
    },
  );
}
