/**
 * @module monitoring/monitor-checks
 * The checks of a monitor run on one version's window against its reference profile, each giving
 * its figures and the rule evaluations alerts are made of. A rule is only evaluated on enough
 * data: an empty or too small window is "no data" or "insufficient", never "no drift".
 *
 * - quality: missing share per feature, schema drift (a profiled feature the traffic lacks, or
 *   retyped), out-of-range values against the profile's [min, max];
 * - drift: the seed's PSI at the profile's deciles over every row, beside Evidently's automatic
 *   test per column (`detectDrift` of the window's sample against the profile's);
 * - prediction: two-sample KS of the scores against the profile's (`ks2samp`);
 * - performance: the evaluation metrics on labelled rows (`taskMetrics`) and the drop of one of
 *   them against the run's baseline.
 */
import { detectDrift } from './drift.js';
import { featureThreshold, type MonitorSpec } from './monitor-config.js';
import type { CategoryFigures, NumericFigures, VersionWindow } from './monitor-window.js';
import { taskMetrics } from './performance.js';
import type { FeatureProfile, ReferenceProfile } from './profile.js';
import { sortedSample } from './profile.js';
import { psiOfShares, sharesOf } from './psi.js';
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

/** A logged value as the profile's label: a category code's number back to its category. */
function labelOf(profile: FeatureProfile, value: string | null): string | null {
  if (value === null || profile.type !== 'categorical' || !profile.codes) return value;
  const code = Number(value);
  return Number.isInteger(code) ? (profile.codes[code] ?? value) : value;
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

/**
 * Quality and drift of one feature from the window's figures (counts over every row, a sample of
 * values); adds its evaluations. `figures` is undefined when the traffic lacks the feature or it
 * changed type.
 */
export function featureChecks(
  spec: MonitorSpec,
  version: string,
  rows: number,
  profile: FeatureProfile,
  figures: NumericFigures | CategoryFigures | undefined,
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
  if (figures === undefined) return { ...base, status: 'missing', rows: 0 };
  if (rows === 0) return { ...base, status: 'no_data', rows: 0 };
  let t = performance.now();
  const report: FeatureReport = { ...base, status: 'ok', rows, missing: figures.missing };
  const present = rows - figures.missing;
  let actual: number[];
  let sample: Float64Array | Array<string | null>;
  if (figures.kind === 'numeric' && profile.type === 'numerical') {
    actual = sharesOf(figures.bins);
    report.outOfRange = figures.outOfRange;
    report.outOfRangeShare = present === 0 ? null : figures.outOfRange / present;
    sample = figures.sample;
  } else if (figures.kind === 'text' && profile.type === 'categorical') {
    const index = new Map(profile.categories.map((c, i) => [c.value, i]));
    const counts = new Array<number>(index.size + 1).fill(0);
    for (const [value, n] of figures.counts)
      counts[index.get(labelOf(profile, value) as string) ?? index.size] += n;
    actual = sharesOf(counts);
    sample = figures.sample.map((v) => labelOf(profile, v));
  } else return { ...base, status: 'missing', rows: 0 };
  report.missingShare = figures.missing / rows;
  if (spec.checks.includes('quality')) {
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
  if (!spec.checks.includes('drift')) return report;
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
  report.psi = expected.length === 0 ? null : psiOfShares(expected, actual);
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
  const sampled =
    sample instanceof Float64Array ? sample.some((x) => !Number.isNaN(x)) : sample.some((x) => x !== null);
  if (sampled) {
    const drift = detectDrift({
      reference: { [profile.name]: profile.sample },
      current: { [profile.name]: sample },
    }).columns[0];
    report.test = {
      name: drift.test,
      score: drift.score,
      threshold: drift.threshold,
      drifted: drift.drifted,
    };
  }
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
  const reference = sortedSample(profile.scores);
  let total = 0;
  for (const s of scores) total += s;
  const report: PredictionReport = {
    status: 'ok',
    rows: scores.length,
    mean: scores.length ? total / scores.length : null,
    referenceMean: profile.scores.mean,
    ks: null,
  };
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
  const { labels: y, scores: p } = window.labelled;
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
