/**
 * @module monitoring/monitor-checks
 * The checks of a monitor run on one version's window against its reference profile, each giving
 * its figures and the rule evaluations alerts are made of. A rule is only evaluated on enough
 * data: an empty or too small window is "no data" or "insufficient", never "no drift".
 *
 * - quality: missing share per feature, schema drift (a profiled feature the traffic lacks, or
 *   retyped), out-of-range values against the profile's [min, max];
 * - drift: the seed's PSI at the profile's deciles, beside Evidently's automatic test per column
 *   (`detectDrift` against the profile's sample);
 * - prediction: two-sample KS of the scores against the profile's (`ks2samp`);
 * - performance: the evaluation metrics on labelled rows (`taskMetrics`) and the drop of one of
 *   them against the run's baseline.
 */
import { detectDrift } from './drift.js';
import { featureThreshold, type MonitorSpec } from './monitor-config.js';
import type { VersionWindow, WindowColumn } from './monitor-window.js';
import { taskMetrics } from './performance.js';
import type { FeatureProfile, ReferenceProfile } from './profile.js';
import { sortedSample } from './profile.js';
import { binCounts, psiOfShares, sharesOf } from './psi.js';
import { ks2sampSorted } from './stats/ks.js';
import { sortedPresent } from './stats/sample.js';

export const ALERT_RULES = [
  'schema',
  'missing_share',
  'out_of_range',
  'psi',
  'prediction_drift',
  'performance_drop',
  'latency_p99',
  'error_rate',
  'volume',
] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

/** One rule judged on one subject (a feature, the scores, a metric, the service) of one version. */
export interface Evaluation {
  rule: AlertRule;
  /** The version judged; '' for model-wide rules (volume). */
  version: string;
  /** The feature, `score`, the metric or `service`. */
  subject: string;
  value: number | null;
  threshold: number;
  breached: boolean;
  /** What the figure means, for the alert's text. */
  detail: string;
}

export type CheckStatus = 'ok' | 'no_data' | 'insufficient' | 'missing';

export interface FeatureReport {
  name: string;
  type: 'numerical' | 'categorical';
  status: CheckStatus;
  rows: number;
  missing: number;
  missingShare: number | null;
  outOfRange: number | null;
  outOfRangeShare: number | null;
  /** The seed's PSI; null when not computed. */
  psi: number | null;
  /** Evidently's automatic test for the column. */
  test: { name: string; score: number; threshold: number; drifted: boolean } | null;
}

export interface SchemaReport {
  /** Profiled features the window's traffic does not have. */
  missing: string[];
  /** Inputs the traffic has that the profile does not (entity keys of `/predict` among them). */
  added: string[];
  retyped: Array<{ column: string; expected: string; found: string }>;
}

export interface PredictionReport {
  status: CheckStatus;
  rows: number;
  mean: number | null;
  referenceMean: number | null;
  ks: { statistic: number; pValue: number; method: string } | null;
}

export interface PerformanceReport {
  status: CheckStatus;
  labelled: number;
  coverage: number;
  metrics: Record<string, number | null>;
  notes: string[];
  metric: string;
  baseline: number | null;
  value: number | null;
  /** Relative change for the worse against the baseline (0.05: 5% worse). */
  drop: number | null;
}

/** Metrics where a smaller value is better. */
const LOWER_IS_BETTER = new Set(['log_loss', 'brier', 'rmse', 'mae']);

/** A window column as the profile's kind: category codes back to their labels, numbers as text. */
function asProfiled(profile: FeatureProfile, column: WindowColumn): WindowColumn {
  if (profile.type === 'categorical' && column instanceof Float64Array) {
    const codes = profile.codes ?? [];
    return Array.from(column, (c) => (Number.isNaN(c) ? null : (codes[c] ?? String(c))));
  }
  return column;
}

export function schemaOf(
  profile: ReferenceProfile,
  features: readonly string[],
  columns: Map<string, 'numeric' | 'text'>,
): SchemaReport {
  const profiled = new Map(profile.features.map((f) => [f.name, f]));
  const missing = features.filter((f) => !columns.has(f));
  const added = [...columns.keys()].filter((c) => !profiled.has(c));
  const retyped: SchemaReport['retyped'] = [];
  for (const name of features) {
    const found = columns.get(name);
    const f = profiled.get(name);
    if (!found || !f) continue;
    const ok =
      (f.type === 'numerical' && found === 'numeric') ||
      (f.type === 'categorical' && (found === 'text' || (found === 'numeric' && f.codes !== undefined)));
    if (!ok) retyped.push({ column: name, expected: f.type, found });
  }
  return { missing, added, retyped };
}

interface Timed {
  quality: number;
  drift: number;
}

/** Quality and drift of one feature; adds its evaluations. */
export function featureChecks(
  spec: MonitorSpec,
  version: string,
  profile: FeatureProfile,
  raw: WindowColumn | undefined,
  evaluations: Evaluation[],
  timings: Timed,
): FeatureReport {
  const base = {
    name: profile.name,
    type: profile.type,
    missing: 0,
    missingShare: null,
    outOfRange: null,
    outOfRangeShare: null,
    psi: null,
    test: null,
  };
  if (raw === undefined) return { ...base, status: 'missing', rows: 0 };
  if (raw.length === 0) return { ...base, status: 'no_data', rows: 0 };
  let t = performance.now();
  const column = asProfiled(profile, raw);
  const rows = column.length;
  const checks = spec.checks;
  const report: FeatureReport = { ...base, status: 'ok', rows };
  let counts: Float64Array;
  let present: number;
  if (profile.type === 'numerical' && column instanceof Float64Array) {
    const binned = binCounts(column, profile.breakpoints);
    counts = binned.counts;
    report.missing = binned.missing;
    present = rows - binned.missing;
    // Out of range: outside what the reference ever held.
    let out = 0;
    if (profile.min !== null && profile.max !== null)
      for (let i = 0; i < column.length; i++) {
        const x = column[i];
        if (x < profile.min || x > profile.max) out++;
      }
    report.outOfRange = out;
    report.outOfRangeShare = present === 0 ? null : out / present;
  } else {
    const labels = column as Array<string | null>;
    const index = new Map(
      profile.type === 'categorical' ? profile.categories.map((c, i) => [c.value, i]) : [],
    );
    counts = new Float64Array(index.size + 1);
    let missing = 0;
    for (const v of labels) {
      if (v === null || v === undefined) missing++;
      else counts[index.get(v) ?? index.size]++;
    }
    report.missing = missing;
    present = rows - missing;
  }
  report.missingShare = report.missing / rows;
  if (checks.includes('quality')) {
    const missingLimit = featureThreshold(spec, profile.name, 'missingShare');
    if (missingLimit !== null)
      evaluations.push({
        rule: 'missing_share',
        version,
        subject: profile.name,
        value: report.missingShare,
        threshold: missingLimit,
        breached: report.missingShare > missingLimit,
        detail: `${report.missing} of ${rows} values of '${profile.name}' missing`,
      });
    const rangeLimit = featureThreshold(spec, profile.name, 'outOfRangeShare');
    if (rangeLimit !== null && report.outOfRangeShare !== null)
      evaluations.push({
        rule: 'out_of_range',
        version,
        subject: profile.name,
        value: report.outOfRangeShare,
        threshold: rangeLimit,
        breached: report.outOfRangeShare > rangeLimit,
        detail: `${report.outOfRange} values of '${profile.name}' outside the reference's range`,
      });
  }
  timings.quality += performance.now() - t;
  if (!checks.includes('drift')) return report;
  t = performance.now();
  if (present < spec.thresholds.minRows) {
    report.status = present === 0 ? 'no_data' : 'insufficient';
    timings.drift += performance.now() - t;
    return report;
  }
  const expected =
    profile.type === 'numerical'
      ? profile.shares
      : [...profile.categories.map((c) => c.share), profile.otherShare];
  report.psi = expected.length === 0 ? null : psiOfShares(expected, sharesOf(counts));
  const psiLimit = featureThreshold(spec, profile.name, 'psi');
  if (psiLimit !== null && report.psi !== null)
    evaluations.push({
      rule: 'psi',
      version,
      subject: profile.name,
      value: report.psi,
      threshold: psiLimit,
      breached: report.psi > psiLimit,
      detail: `PSI of '${profile.name}' over ${present} values against the reference's deciles`,
    });
  const drift = detectDrift({
    reference: { [profile.name]: profile.sample },
    current: { [profile.name]: column },
  }).columns[0];
  report.test = { name: drift.test, score: drift.score, threshold: drift.threshold, drifted: drift.drifted };
  timings.drift += performance.now() - t;
  return report;
}

/** KS of the window's scores against the profile's. */
export function predictionCheck(
  spec: MonitorSpec,
  window: VersionWindow,
  profile: ReferenceProfile,
  evaluations: Evaluation[],
): PredictionReport {
  const scores = sortedPresent(window.scores);
  let total = 0;
  for (const s of scores) total += s;
  const report: PredictionReport = {
    status: 'ok',
    rows: scores.length,
    mean: scores.length ? total / scores.length : null,
    referenceMean: profile.scores.mean,
    ks: null,
  };
  const reference = sortedSample(profile.scores);
  if (scores.length < spec.thresholds.minRows || reference.length === 0) {
    report.status = scores.length === 0 ? 'no_data' : 'insufficient';
    return report;
  }
  const ks = ks2sampSorted(reference, scores);
  report.ks = { statistic: ks.statistic, pValue: ks.pValue, method: ks.method };
  const limit = spec.thresholds.predictionKsP;
  if (limit !== null)
    evaluations.push({
      rule: 'prediction_drift',
      version: window.version,
      subject: 'score',
      value: ks.pValue,
      threshold: limit,
      breached: ks.pValue < limit,
      detail: `two-sample KS of ${scores.length} scores against the reference's: D = ${ks.statistic.toFixed(4)}`,
    });
  return report;
}

/** Realised performance on the labelled rows and its drop against the run's baseline. */
export function performanceCheck(
  spec: MonitorSpec,
  window: VersionWindow,
  profile: ReferenceProfile,
  evaluations: Evaluation[],
): PerformanceReport {
  const y: number[] = [];
  const p: number[] = [];
  for (let i = 0; i < window.rows; i++) {
    if (!Number.isNaN(window.labels[i]) && !Number.isNaN(window.scores[i])) {
      y.push(window.labels[i]);
      p.push(window.scores[i]);
    }
  }
  const metric = spec.metric ?? (profile.task === 'binary' ? 'roc_auc' : 'rmse');
  const baseline = profile.metrics[metric] ?? profile.metrics[`test_${metric}`] ?? null;
  const labelled = y.length;
  const report: PerformanceReport = {
    status: 'ok',
    labelled,
    coverage: window.rows === 0 ? 0 : labelled / window.rows,
    metrics: {},
    notes: [],
    metric,
    baseline,
    value: null,
    drop: null,
  };
  if (labelled < spec.thresholds.minLabels) {
    report.status = labelled === 0 ? 'no_data' : 'insufficient';
    return report;
  }
  const binary = profile.task === 'binary' && y.every((v) => v === 0 || v === 1);
  const { metrics, notes } = taskMetrics(
    binary ? 'binary' : 'regression',
    Float64Array.from(y),
    Float64Array.from(p),
  );
  report.metrics = metrics;
  report.notes = notes;
  report.value = metrics[metric] ?? null;
  if (report.value !== null && baseline !== null && baseline !== 0)
    report.drop = LOWER_IS_BETTER.has(metric)
      ? (report.value - baseline) / Math.abs(baseline)
      : (baseline - report.value) / Math.abs(baseline);
  const limit = spec.thresholds.performanceDrop;
  if (limit !== null && report.drop !== null)
    evaluations.push({
      rule: 'performance_drop',
      version: window.version,
      subject: metric,
      value: report.drop,
      threshold: limit,
      breached: report.drop > limit,
      detail: `${metric} ${report.value?.toFixed(4)} on ${labelled} labelled rows against the run's ${baseline.toFixed(4)}`,
    });
  return report;
}
