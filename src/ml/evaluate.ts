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
  checkScores,
  confusionMatrix,
  logLoss,
  prCurve,
  regressionMetrics,
  rocAuc,
  rocCurve,
  thresholdMetrics,
} from './metrics.js';
import { META_CATEGORIES, META_FEATURES, META_POSITIVE, META_TARGET, META_TASK } from './onnx-export.js';
import { modelIo } from './onnx-io.js';
import { scoreOnnx } from './onnx-predict.js';
import { readOnnxSignature } from './onnx-signature.js';

/** Metrics by name (null where undefined) and what the caller should know about them. */
export interface MetricsReport {
  metrics: Record<string, number | null>;
  warnings: string[];
}

const orNull = (v: number): number | null => (Number.isNaN(v) ? null : v);

/**
 * Headline metrics of a binary classifier at a decision threshold, with scikit-learn's values on
 * degenerate data and a warning wherever sklearn warns: with one class ROC AUC is undefined
 * (null); without a positive label average precision is 0; precision, recall and F1 are 0 where
 * their denominator is (`zero_division`). Everything else is computed as usual.
 * @throws KeelError DATA_VALIDATION_FAILED for NaN scores or probabilities outside [0, 1], naming
 *   the rows.
 */
export function classificationMetrics(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  threshold = 0.5,
): MetricsReport {
  checkScores(p, 'model scores', 'probability');
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i] === 1 ? 1 : 0;
  const m = confusionMatrix(y, p, threshold);
  const warnings: string[] = [];
  if (positives === 0 || positives === y.length)
    warnings.push(`roc_auc is undefined: every label is ${positives === 0 ? 0 : 1} (one class only)`);
  if (positives === 0)
    warnings.push('average_precision is 0: no positive label, so recall counts as 1 at every threshold');
  if (m.tp + m.fp === 0)
    warnings.push(`precision is 0: no row is predicted positive at threshold ${threshold}`);
  if (positives === 0) warnings.push('recall is 0: no positive label');
  if (m.tp + m.fp + m.fn === 0) warnings.push('f1 is 0: no positive label and no row predicted positive');
  return {
    metrics: {
      roc_auc: orNull(rocAuc(y, p)),
      average_precision: averagePrecision(y, p),
      log_loss: logLoss(y, p),
      brier: brierScore(y, p),
      ...thresholdMetrics(m),
    },
    warnings,
  };
}

/** RMSE, MAE and R² (1 or 0 with constant labels, as scikit-learn's `force_finite`, with a warning). */
export function regressionSummary(y: ArrayLike<number>, pred: ArrayLike<number>): MetricsReport {
  const metrics = regressionMetrics(y, pred);
  let constant = true;
  for (let i = 1; i < y.length && constant; i++) constant = y[i] === y[0];
  return {
    metrics: { ...metrics },
    warnings: constant ? [`r2 is ${metrics.r2}: every label is ${y[0]}, so its variance is 0`] : [],
  };
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
  /**
   * Columns feeding the model's input, in order. Default: the model's `keel.feature_names`, its
   * input names when it takes one input per column, else the data's columns but the target and
   * sensitive ones when there are as many as the input takes.
   */
  features?: string[];
  /** Default: `keel.task` from the model, else read from its outputs (`modelIo`). */
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
  /** Return each row's score too (`scores`), e.g. to compare two models row by row. */
  keepScores?: boolean;
}

export interface EvaluationResult {
  model: string;
  data: string;
  task: 'binary' | 'regression';
  /** How the task was decided: the option, Keel's metadata, or the model's outputs. */
  taskFrom: string;
  /** The columns fed to the model, in order. */
  features: string[];
  rows: number;
  /** Null where a metric is undefined on this data (see `warnings`). */
  metrics: Record<string, number | null>;
  confusion?: { tn: number; fp: number; fn: number; tp: number };
  fairness: Record<string, FairnessReport>;
  checks: ThresholdCheck[];
  passed: boolean;
  files: string[];
  /** Undefined or conventional metric values, and fairness groups without one of the classes. */
  warnings: string[];
  /** Each row's score, in file order, with `keepScores`. */
  scores?: Float64Array;
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
  const positiveLabel = options.positiveLabel ?? sig.metadata[META_POSITIVE];
  const io = modelIo(options.model, { positiveLabel });
  const names =
    options.features ??
    (sig.metadata[META_FEATURES]
      ? (JSON.parse(sig.metadata[META_FEATURES]) as string[])
      : io.layout === 'columns'
        ? io.inputs.map((i) => i.name)
        : undefined);
  const target = options.target ?? sig.metadata[META_TARGET];
  if (!target)
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `no target given and model '${options.model}' records none`,
    );
  const recorded = sig.metadata[META_TASK];
  const task = options.task ?? (recorded === 'binary' || recorded === 'regression' ? recorded : io.task);
  const sensitive = options.sensitive ?? [];
  const table = await loadTable({
    path: options.data,
    target,
    positiveLabel,
    // Without names, every column but the target and the sensitive ones, in file order, if as
    // many as the model's input takes (checked below).
    features: names,
    categories: sig.metadata[META_CATEGORIES] ? JSON.parse(sig.metadata[META_CATEGORIES]) : {},
    extraColumns: sensitive,
    csv: options.csv,
  });
  if (!names && table.x.names.length !== io.width) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `model '${options.model}' names no columns (no '${META_FEATURES}' metadata, one input '${io.inputs[0].name}' of ${io.width ?? 'unknown'} values a row) and '${options.data}' has ${table.x.names.length} besides the target and sensitive columns (${table.x.names.join(', ')}): name the columns feeding its input (features / --features)`,
    );
  }
  const y = table.y as Float64Array;
  const score = await scoreOnnx(options.model, table.x, io);
  // Rows are numbered as the data file's rows: the loader keeps file order.
  checkScores(score, `model scores on '${options.data}'`, task === 'binary' ? 'probability' : 'score');
  const threshold = options.threshold ?? 0.5;
  const report = task === 'binary' ? classificationMetrics(y, score, threshold) : regressionSummary(y, score);
  const result: EvaluationResult = {
    model: options.model,
    data: options.data,
    task,
    taskFrom: options.task ? 'the task option' : io.taskFrom,
    features: [...table.x.names],
    rows: table.rows,
    metrics: report.metrics,
    fairness: {},
    checks: [],
    passed: true,
    files: [],
    warnings: report.warnings,
    ...(options.keepScores ? { scores: score } : {}),
  };
  const plots: Record<string, string> = {};
  if (task === 'binary') {
    result.confusion = confusionMatrix(y, score, threshold);
    for (const column of sensitive) {
      const f = fairnessReport(y, score, table.extra[column], threshold);
      result.fairness[column] = f;
      result.warnings.push(...f.warnings.map((w) => `fairness by '${column}': ${w}`));
    }
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
      ['column', 'group', 'count', 'positives', 'selection_rate', 'tpr', 'fpr'],
      Object.entries(result.fairness).flatMap(([column, f]) =>
        f.groups.map((g) => [column, g.group, g.count, g.positives, g.selectionRate, g.tpr, g.fpr]),
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
    await options.run.logMetrics({ ...definedMetrics(result.metrics), ...fairnessMetrics(result.fairness) });
    for (const f of result.files) await options.run.logArtifact(f, 'evaluation');
  }
  return result;
}

/** The metrics that have a value: a tracking run records numbers, and an undefined one is left out. */
export function definedMetrics(metrics: Record<string, number | null>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(metrics).filter((e): e is [string, number] => e[1] !== null && !Number.isNaN(e[1])),
  );
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

function fairnessValue(result: EvaluationResult, name: string): number | null | undefined {
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
    const value = metric in result.metrics ? result.metrics[metric] : fairnessValue(result, metric);
    if (value === undefined) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `threshold names unknown metric '${metric}' (known: ${Object.keys(result.metrics).join(', ')}, or <sensitive column>.demographic_parity_difference|equal_opportunity_difference|disparate_impact_ratio)`,
      );
    }
    // An undefined value never passes a gate.
    const defined = value === null || Number.isNaN(value) ? null : value;
    const passed =
      defined !== null &&
      (bound.min === undefined || defined >= bound.min) &&
      (bound.max === undefined || defined <= bound.max);
    return { metric, value: defined, ...bound, passed };
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
