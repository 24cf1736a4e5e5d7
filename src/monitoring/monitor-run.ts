/**
 * @module monitoring/monitor-run
 * One run of a monitor over one window: read the window of the prediction log (with its labels),
 * find each version's reference, run the checks per version, add the servers' request figures and
 * the volume against earlier windows, and store the report. The versions judged are those that
 * logged rows or counted requests in the window, so a version whose every request failed (and so
 * logged nothing) still gets its error rate.
 */
import type { Clock } from '../core/index.js';
import type { SqlDatabase } from '../storage/index.js';
import {
  type Evaluation,
  featureChecks,
  performanceCheck,
  predictionCheck,
  schemaOf,
} from './monitor-checks.js';
import type { MonitorSpec } from './monitor-config.js';
import type { MonitorReport, VersionReport } from './monitor-report.js';
import type { MonitorRunStore } from './monitor-runs.js';
import { readWindow, type VersionWindow, type WindowPlan } from './monitor-window.js';
import type { ReferenceProfile } from './profile.js';
import { type ServiceFigures, serviceFigures } from './request-figures.js';

/** Earlier windows the volume is compared with. */
const VOLUME_WINDOWS = 6;

export interface Reference {
  profile: ReferenceProfile;
  kind: 'profile' | 'dataset';
  path?: string;
}

export interface MonitorRunContext {
  home: string;
  db: SqlDatabase;
  runs: MonitorRunStore;
  clock: Clock;
  /** The reference a version is compared with. @throws when there is none (the report says why). */
  referenceOf(spec: MonitorSpec, version: string): Promise<Reference>;
}

function emptyWindow(version: string): VersionWindow {
  return {
    version,
    rows: 0,
    canaryRows: 0,
    scores: new Float64Array(0),
    labelled: { scores: new Float64Array(0), labels: new Float64Array(0) },
    features: new Map(),
    sampleRows: 0,
  };
}

function serviceEvaluations(spec: MonitorSpec, s: ServiceFigures, out: Evaluation[]): void {
  const { p99Ms, errorRate } = spec.thresholds;
  if (p99Ms !== null && s.p99Ms !== null)
    out.push({
      rule: 'latency_p99',
      version: s.version,
      subject: 'service',
      value: s.p99Ms,
      threshold: p99Ms,
      breached: s.p99Ms > p99Ms,
      detail: `p99 latency of ${s.requests} requests`,
    });
  if (errorRate !== null && s.errorRate !== null)
    out.push({
      rule: 'error_rate',
      version: s.version,
      subject: 'service',
      value: s.errorRate,
      threshold: errorRate,
      breached: s.errorRate > errorRate,
      detail: `${s.failed} of ${s.requests} requests failed`,
    });
}

/**
 * Runs `spec` over [start, end) and stores the report.
 * @throws what reading the log or the database throws; a version without a reference is reported,
 *   not thrown.
 */
export async function runMonitor(
  ctx: MonitorRunContext,
  spec: MonitorSpec,
  window: { start: number; end: number },
  cause: string,
): Promise<MonitorReport> {
  const timings: Record<string, number> = {
    read: 0,
    profile: 0,
    quality: 0,
    drift: 0,
    prediction: 0,
    performance: 0,
    service: 0,
  };
  const lap = async <T>(step: string, work: () => Promise<T> | T): Promise<T> => {
    const t = performance.now();
    try {
      return await work();
    } finally {
      timings[step] += performance.now() - t;
    }
  };
  const service = spec.checks.includes('service')
    ? await lap('service', () => serviceFigures(ctx.db, spec.model, window.start, window.end))
    : [];
  const references = new Map<string, Reference | Error>();
  const referenceOf = (version: string) =>
    lap('profile', () => ctx.referenceOf(spec, version).catch((err: Error) => err)).then((r) => {
      references.set(version, r);
    });
  // The versions' references first (inside the read), so the window is read for their features.
  const profiledBefore = timings.profile;
  const data = await lap('read', () =>
    readWindow({
      home: ctx.home,
      model: spec.model,
      from: window.start,
      to: window.end,
      sampleRows: spec.sampleRows,
      plan: async (logged) => {
        const plans = new Map<string, WindowPlan>();
        for (const version of logged) {
          await referenceOf(version);
          const r = references.get(version);
          if (r instanceof Error || r === undefined) continue;
          const wanted = r.profile.features.filter((f) => !spec.features || spec.features.includes(f.name));
          plans.set(version, {
            numeric: wanted.flatMap((f) =>
              f.type === 'numerical'
                ? [{ name: f.name, breakpoints: f.breakpoints, min: f.min, max: f.max }]
                : [],
            ),
            categorical: wanted.filter((f) => f.type === 'categorical').map((f) => f.name),
          });
        }
        return plans;
      },
    }),
  );
  const versions = [
    ...new Set([...data.versions.map((v) => v.version), ...service.map((s) => s.version)]),
  ].sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0));
  timings.read -= timings.profile - profiledBefore;
  for (const version of versions) if (!references.has(version)) await referenceOf(version);

  const evaluations: Evaluation[] = [];
  const reports: VersionReport[] = [];
  for (const version of versions) {
    const w = data.versions.find((v) => v.version === version) ?? emptyWindow(version);
    const figures = service.find((s) => s.version === version) ?? null;
    if (figures) serviceEvaluations(spec, figures, evaluations);
    const reference = references.get(version);
    const report: VersionReport = {
      version,
      rows: w.rows,
      canaryRows: w.canaryRows,
      reference: null,
      schema: null,
      features: [],
      prediction: null,
      performance: null,
      service: figures,
    };
    reports.push(report);
    if (reference instanceof Error || reference === undefined) {
      report.referenceError = reference?.message ?? 'no reference';
      continue;
    }
    const { profile } = reference;
    report.reference = {
      kind: reference.kind,
      rows: profile.rows,
      ...(reference.path ? { path: reference.path } : {}),
    };
    if (w.rows === 0) continue;
    const features = spec.features ?? profile.features.map((f) => f.name);
    const profiled = profile.features.filter((f) => features.includes(f.name));
    if (spec.checks.includes('quality')) {
      report.schema = schemaOf(profile, features, data.columns);
      for (const column of [...report.schema.missing, ...report.schema.retyped.map((r) => r.column)])
        evaluations.push({
          rule: 'schema',
          version,
          subject: column,
          value: 1,
          threshold: 0,
          breached: true,
          detail: report.schema.missing.includes(column)
            ? `feature '${column}' is not in the traffic`
            : `feature '${column}' changed type`,
        });
      // Profiled features present and typed as profiled: judged clear, so a schema alert resolves.
      for (const f of profiled)
        if (
          !report.schema.missing.includes(f.name) &&
          !report.schema.retyped.some((r) => r.column === f.name)
        )
          evaluations.push({
            rule: 'schema',
            version,
            subject: f.name,
            value: 0,
            threshold: 0,
            breached: false,
            detail: `feature '${f.name}' is in the traffic as profiled`,
          });
    }
    const retyped = new Set(report.schema?.retyped.map((r) => r.column) ?? []);
    const timed = { quality: 0, drift: 0 };
    for (const f of profiled)
      report.features.push(
        featureChecks(
          spec,
          version,
          w.rows,
          f,
          retyped.has(f.name) ? undefined : w.features.get(f.name),
          evaluations,
          timed,
        ),
      );
    timings.quality += timed.quality;
    timings.drift += timed.drift;
    if (spec.checks.includes('prediction'))
      report.prediction = await lap('prediction', () => predictionCheck(spec, w, profile, evaluations));
    if (spec.checks.includes('performance'))
      report.performance = await lap('performance', () => performanceCheck(spec, w, profile, evaluations));
  }

  const rows = data.versions.reduce((n, v) => n + v.rows, 0);
  const previous = await ctx.runs.previousRows(
    spec.model,
    window.end - window.start,
    window.start,
    VOLUME_WINDOWS,
  );
  const previousMean = previous.length ? previous.reduce((a, b) => a + b, 0) / previous.length : null;
  const ratio = previousMean ? rows / previousMean : null;
  const limits = spec.thresholds.volumeRatio;
  if (limits && ratio !== null && spec.checks.includes('quality'))
    for (const [bound, value] of [
      ['min', limits.min],
      ['max', limits.max],
    ] as const)
      if (value !== undefined)
        evaluations.push({
          rule: 'volume',
          version: '',
          subject: `rows ${bound}`,
          value: ratio,
          threshold: value,
          breached: bound === 'min' ? ratio < value : ratio > value,
          detail: `${rows} rows against a mean of ${previousMean?.toFixed(1)} over the previous ${previous.length} windows`,
        });

  const report: MonitorReport = {
    model: spec.model,
    window,
    ranAt: ctx.clock.now(),
    status: versions.length === 0 ? 'no_data' : reports.some((r) => r.referenceError) ? 'incomplete' : 'ok',
    cause,
    rows,
    volume: { rows, previousMean, ratio },
    versions: reports,
    evaluations,
    breaches: evaluations.filter((e) => e.breached),
    timings: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v * 10) / 10])),
  };
  return ctx.runs.add(report);
}
