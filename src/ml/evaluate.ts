/**
 * @module ml/evaluate
 * Evaluates an ONNX model (Keel's or any with Keel's metadata) on a labelled file: metrics, curve
 * points, fairness per sensitive column, and threshold checks; optionally writes `metrics.json`,
 * `roc.csv`, `pr.csv`, `confusion_matrix.csv`, `calibration.csv` and `fairness.csv`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { KeelError, parseInput, writeFileAtomic } from '../core/index.js';
import type { CsvOptions } from '../data/index.js';
import type { ActiveRun } from '../tracking/index.js';
import { type FairnessReport, fairnessReport } from './fairness.js';
import { loadTable } from './load.js';
import {
  averagePrecision,
  brierScore,
  type CalibrationBin,
  calibrationBins,
  confusionMatrix,
  logLoss,
  prCurve,
  regressionMetrics,
  rocAuc,
  rocCurve,
  thresholdMetrics,
} from './metrics.js';
import { META_CATEGORIES, META_FEATURES, META_POSITIVE, META_TARGET, META_TASK } from './onnx-export.js';
import { scoreOnnx } from './onnx-predict.js';
import { readOnnxSignature } from './onnx-signature.js';

/** Headline metrics of a binary classifier at a decision threshold. */
export function classificationMetrics(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  threshold = 0.5,
): Record<string, number> {
  return {
    roc_auc: rocAuc(y, p),
    average_precision: averagePrecision(y, p),
    log_loss: logLoss(y, p),
    brier: brierScore(y, p),
    ...thresholdMetrics(confusionMatrix(y, p, threshold)),
  };
}

/** RMSE, MAE and R² as a metrics record. */
export function regressionSummary(y: ArrayLike<number>, pred: ArrayLike<number>): Record<string, number> {
  return { ...regressionMetrics(y, pred) };
}

/** `metric: { min, max }` bounds; a fairness metric is named `<column>.<metric>`. */
export const thresholdsSchema = z.record(
  z.string(),
  z
    .strictObject({ min: z.number().optional(), max: z.number().optional() })
    .refine((b) => b.min !== undefined || b.max !== undefined, {
      message: 'give min or max',
    }),
);
export type Thresholds = z.output<typeof thresholdsSchema>;

export interface ThresholdCheck {
  metric: string;
  value: number | null;
  min?: number;
  max?: number;
  passed: boolean;
}

export interface EvaluateOptions {
  model: string;
  data: string;
  /** Columns feeding the model's input, in order; default the model's `keel.feature_names`. */
  features?: string[];
  /** Default: `keel.task` from the model, else binary when it outputs `probabilities`. */
  task?: 'binary' | 'regression';
  /** Default: the target recorded in the model. */
  target?: string;
  /** Default: the positive label recorded in the model. */
  positiveLabel?: string;
  /** Decision threshold on the class-1 probability. Default 0.5. */
  threshold?: number;
  sensitive?: string[];
  thresholds?: Thresholds;
  /** Folder for metrics.json and the plot CSVs. */
  outDir?: string;
  run?: ActiveRun;
  /** The dialect of a CSV `data` file; what is left out is sniffed. */
  csv?: CsvOptions;
}

export interface EvaluationResult {
  model: string;
  data: string;
  task: 'binary' | 'regression';
  rows: number;
  metrics: Record<string, number>;
  confusion?: { tn: number; fp: number; fn: number; tp: number };
  fairness: Record<string, FairnessReport>;
  checks: ThresholdCheck[];
  passed: boolean;
  files: string[];
}

/** Reads a thresholds YAML file. @throws KeelError INVALID_PARAMETER_VALUE / RESOURCE_DOES_NOT_EXIST. */
export function readThresholds(path: string): Thresholds {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new KeelError('RESOURCE_DOES_NOT_EXIST', `cannot read thresholds file '${path}'`, { cause });
  }
  return parseInput(thresholdsSchema, parseYaml(text), `thresholds file '${path}'`);
}

/**
 * Scores `data` with the model and computes metrics, fairness and threshold checks. It does not
 * throw when a threshold fails: `passed` says so, and the caller decides.
 * @throws KeelError INVALID_PARAMETER_VALUE when the model lacks feature names or a threshold names
 *   an unknown metric; the loader's errors for the data.
 */
export async function evaluateModel(options: EvaluateOptions): Promise<EvaluationResult> {
  const sig = readOnnxSignature(options.model);
  const names =
    options.features ??
    (sig.metadata[META_FEATURES] ? (JSON.parse(sig.metadata[META_FEATURES]) as string[]) : undefined);
  if (!names) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `model '${options.model}' has no '${META_FEATURES}' metadata: name the columns feeding its input (features / --features)`,
    );
  }
  const target = options.target ?? sig.metadata[META_TARGET];
  if (!target)
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `no target given and model '${options.model}' records none`,
    );
  const recorded = sig.metadata[META_TASK];
  const task =
    options.task ??
    (recorded === 'binary' || recorded === 'regression'
      ? recorded
      : sig.outputs.some((o) => o.name === 'probabilities')
        ? 'binary'
        : 'regression');
  const sensitive = options.sensitive ?? [];
  const table = await loadTable({
    path: options.data,
    target,
    positiveLabel: options.positiveLabel ?? sig.metadata[META_POSITIVE],
    features: names,
    categories: sig.metadata[META_CATEGORIES] ? JSON.parse(sig.metadata[META_CATEGORIES]) : {},
    extraColumns: sensitive,
    csv: options.csv,
  });
  const y = table.y as Float64Array;
  const score = await scoreOnnx(options.model, table.x);
  const threshold = options.threshold ?? 0.5;
  const result: EvaluationResult = {
    model: options.model,
    data: options.data,
    task,
    rows: table.rows,
    metrics: task === 'binary' ? classificationMetrics(y, score, threshold) : regressionSummary(y, score),
    fairness: {},
    checks: [],
    passed: true,
    files: [],
  };
  const plots: Record<string, string> = {};
  if (task === 'binary') {
    result.confusion = confusionMatrix(y, score, threshold);
    for (const column of sensitive)
      result.fairness[column] = fairnessReport(y, score, table.extra[column], threshold);
    const roc = rocCurve(y, score);
    const pr = prCurve(y, score);
    plots['roc.csv'] = csv(
      ['fpr', 'tpr', 'threshold'],
      roc.fpr.map((v, i) => [v, roc.tpr[i], roc.thresholds[i]]),
    );
    plots['pr.csv'] = csv(
      ['precision', 'recall', 'threshold'],
      pr.precision.map((v, i) => [v, pr.recall[i], pr.thresholds[i] ?? '']),
    );
    const c = result.confusion;
    plots['confusion_matrix.csv'] = csv(
      ['actual', 'predicted_0', 'predicted_1'],
      [
        [0, c.tn, c.fp],
        [1, c.fn, c.tp],
      ],
    );
    plots['calibration.csv'] = csv(
      ['lower', 'upper', 'count', 'mean_predicted', 'fraction_positive'],
      calibrationBins(y, score).map((b: CalibrationBin) => [
        b.lower,
        b.upper,
        b.count,
        b.meanPredicted,
        b.fractionPositive,
      ]),
    );
    plots['fairness.csv'] = csv(
      ['column', 'group', 'count', 'selection_rate', 'tpr', 'fpr'],
      Object.entries(result.fairness).flatMap(([column, f]) =>
        f.groups.map((g) => [column, g.group, g.count, g.selectionRate, g.tpr, g.fpr]),
      ),
    );
  }
  result.checks = checkThresholds(result, options.thresholds ?? {});
  result.passed = result.checks.every((c) => c.passed);
  if (options.outDir) {
    for (const [name, text] of Object.entries(plots)) {
      writeFileAtomic(join(options.outDir, name), text);
      result.files.push(join(options.outDir, name));
    }
    const metricsPath = join(options.outDir, 'metrics.json');
    result.files.push(metricsPath);
    writeFileAtomic(metricsPath, `${JSON.stringify(result, null, 2)}\n`);
  }
  if (options.run) {
    await options.run.logMetrics({ ...result.metrics, ...fairnessMetrics(result.fairness) });
    for (const f of result.files) await options.run.logArtifact(f, 'evaluation');
  }
  return result;
}

/**
 * The fairness figures as run metrics, named as thresholds name them (`<column>.<metric>`), plus
 * `disparate_impact`: the lowest ratio over the sensitive columns, which the default governance
 * policy's bias gate reads. Undefined figures (NaN) are left out.
 */
export function fairnessMetrics(fairness: Record<string, FairnessReport>): Record<string, number> {
  const metrics: Record<string, number> = {};
  for (const [column, f] of Object.entries(fairness)) {
    metrics[`${column}.demographic_parity_difference`] = f.demographicParityDifference;
    metrics[`${column}.equal_opportunity_difference`] = f.equalOpportunityDifference;
    metrics[`${column}.disparate_impact_ratio`] = f.disparateImpactRatio;
  }
  const ratios = Object.values(fairness)
    .map((f) => f.disparateImpactRatio)
    .filter((v) => !Number.isNaN(v));
  if (ratios.length > 0) metrics.disparate_impact = Math.min(...ratios);
  return Object.fromEntries(Object.entries(metrics).filter(([, v]) => !Number.isNaN(v)));
}

function fairnessValue(result: EvaluationResult, name: string): number | undefined {
  const dot = name.lastIndexOf('.');
  const report = result.fairness[name.slice(0, dot)];
  if (!report) return undefined;
  const key = name.slice(dot + 1);
  const values: Record<string, number> = {
    demographic_parity_difference: report.demographicParityDifference,
    equal_opportunity_difference: report.equalOpportunityDifference,
    disparate_impact_ratio: report.disparateImpactRatio,
  };
  return values[key];
}

function checkThresholds(result: EvaluationResult, thresholds: Thresholds): ThresholdCheck[] {
  return Object.entries(thresholds).map(([metric, bound]) => {
    const value = result.metrics[metric] ?? fairnessValue(result, metric);
    if (value === undefined) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `threshold names unknown metric '${metric}' (known: ${Object.keys(result.metrics).join(', ')}, or <sensitive column>.demographic_parity_difference|equal_opportunity_difference|disparate_impact_ratio)`,
      );
    }
    const passed =
      !Number.isNaN(value) &&
      (bound.min === undefined || value >= bound.min) &&
      (bound.max === undefined || value <= bound.max);
    return { metric, value: Number.isNaN(value) ? null : value, ...bound, passed };
  });
}

function csv(header: string[], rows: Array<Array<string | number>>): string {
  const cell = (v: string | number): string => {
    if (typeof v === 'string') return /[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
    if (Number.isFinite(v)) return String(v);
    return Number.isNaN(v) ? '' : v > 0 ? 'inf' : '-inf';
  };
  return `${[header.join(','), ...rows.map((r) => r.map(cell).join(','))].join('\n')}\n`;
}
