/**
 * @module cli/commands/ml
 * `keel train` and `keel evaluate`: thin wrappers over `trainFromConfig` and `evaluateModel`.
 * `keel train` joins a config's `data.trainingSet` with the feature store of the Keel home.
 */
import type { Command } from 'commander';
import { KeelError } from '../../core/index.js';
import type { FeatureStore } from '../../features/index.js';
import {
  type EvaluationResult,
  evaluateModel,
  type ResolveTrainingSet,
  readThresholds,
  type TrainResult,
  trainFromConfig,
} from '../../ml/index.js';
import { action, parseNumberOption } from '../io.js';
import { type TrackOptions, trackOptions, withTrackedRun } from '../tracked.js';
import { withStore } from './features.js';

/** Builds training sets as `keel features get-historical --out` does. */
export const trainingSetsFrom =
  (store: FeatureStore): ResolveTrainingSet =>
  async (spec, out) => {
    const result = await store.getHistoricalFeatures({
      ...(spec.featureService !== undefined
        ? { featureService: spec.featureService }
        : { features: spec.features ?? [] }),
      entityRows: { path: spec.entities },
      eventTimestampColumn: spec.eventTimestampColumn,
      fullFeatureNames: spec.fullFeatureNames,
      out,
    });
    return { features: result.features, featureViews: result.featureViews };
  };

const fixed = (v: number | null) => (v === null ? 'n/a' : Math.abs(v) >= 1000 ? v.toFixed(0) : v.toFixed(4));

function trainText(r: TrainResult): string {
  const lines = [
    `trained ${r.kind} (${r.task}) on ${r.rows.train} rows, ${r.iterations} iterations; tested on ${r.rows.test} rows`,
    ...Object.entries(r.test).map(([k, v]) => `  ${k.padEnd(18)} ${fixed(v)}`),
    ...(r.featureViews ? [`features from ${r.featureViews.join(', ')}`] : []),
    `model written to ${r.modelPath}`,
  ];
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

function evaluateText(r: EvaluationResult): string {
  const lines = [`evaluated ${r.model} on ${r.rows} rows of ${r.data}`];
  for (const [k, v] of Object.entries(r.metrics)) lines.push(`  ${k.padEnd(18)} ${fixed(v)}`);
  for (const [column, f] of Object.entries(r.fairness)) {
    lines.push(`fairness by ${column} (threshold ${f.threshold}):`);
    lines.push(`  ${'group'.padEnd(22)} ${'count'.padStart(7)} selection   tpr      fpr`);
    for (const g of f.groups) {
      lines.push(
        `  ${g.group.padEnd(22)} ${String(g.count).padStart(7)} ${fixed(g.selectionRate)}    ${fixed(g.tpr)}   ${fixed(g.fpr)}`,
      );
    }
    lines.push(
      `  demographic parity difference ${fixed(f.demographicParityDifference)}, equal opportunity difference ${fixed(f.equalOpportunityDifference)}, disparate impact ratio ${fixed(f.disparateImpactRatio)}`,
    );
  }
  for (const c of r.checks) {
    const bound = [c.min === undefined ? '' : `>= ${c.min}`, c.max === undefined ? '' : `<= ${c.max}`]
      .filter(Boolean)
      .join(' and ');
    lines.push(`${c.passed ? 'PASS' : 'FAIL'} ${c.metric} = ${fixed(c.value)} (${bound})`);
  }
  if (r.files.length > 0) lines.push(`wrote ${r.files.join(', ')}`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

const splitList = (value: string | undefined): string[] | undefined =>
  value
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function parseTask(value: string | undefined): 'binary' | 'regression' | undefined {
  if (value === undefined || value === 'binary' || value === 'regression') return value;
  throw new KeelError('INVALID_PARAMETER_VALUE', `--task must be binary or regression, got '${value}'`);
}

export function registerMlCommands(program: Command): void {
  action(
    trackOptions(
      program
        .command('train')
        .description('train a model from a train.yaml, write it as ONNX and record the run in tracking')
        .requiredOption('--config <file>', 'training config (YAML)')
        .option('--out <file>', 'where to write the ONNX model (overrides the config)'),
      'train',
    ),
    async (io, opts: { config: string; out?: string } & TrackOptions) => {
      // The store opens nothing until a training set asks it to.
      const result = await withStore(io, (store) =>
        withTrackedRun(io.config, opts, async (run) => ({
          ...(await trainFromConfig(opts.config, {
            out: opts.out,
            progress: io.progress,
            run,
            resolveTrainingSet: trainingSetsFrom(store),
          })),
          runId: run?.runId,
        })),
      );
      io.emit(result, (r) => `${trainText(r)}${r.runId ? `\ntracked as run ${r.runId}` : ''}`);
    },
  );
  action(
    trackOptions(
      program
        .command('evaluate')
        .description('evaluate an ONNX model on labelled data: metrics, plot CSVs, fairness, threshold gates')
        .requiredOption('--model <file>', 'ONNX model')
        .requiredOption('--data <file>', 'CSV, CSV.gz or Parquet with the features and the target')
        .option('--target <column>', 'label column (default: the one recorded in the model)')
        .option(
          '--features <columns>',
          'comma-separated input columns, in order (default: recorded in the model)',
        )
        .option('--task <task>', 'binary or regression (default: recorded in the model, or from its outputs)')
        .option('--positive-label <value>', 'value of a text target that means class 1')
        .option(
          '--threshold <p>',
          'decision threshold on the class-1 probability',
          parseNumberOption('--threshold'),
          0.5,
        )
        .option(
          '--thresholds <file>',
          'YAML of metric bounds, e.g. "roc_auc: { min: 0.85 }"; a failure exits non-zero',
        )
        .option('--sensitive <columns>', 'comma-separated sensitive columns for the fairness table')
        .option('--out <dir>', 'folder for metrics.json and the plot CSVs'),
      'evaluate',
    ),
    async (
      io,
      opts: {
        model: string;
        data: string;
        target?: string;
        features?: string;
        task?: string;
        positiveLabel?: string;
        threshold: number;
        thresholds?: string;
        sensitive?: string;
        out?: string;
      } & TrackOptions,
    ) => {
      const result = await withTrackedRun(io.config, opts, (run) =>
        evaluateModel({
          run,
          model: opts.model,
          data: opts.data,
          target: opts.target,
          features: splitList(opts.features),
          task: parseTask(opts.task),
          positiveLabel: opts.positiveLabel,
          threshold: opts.threshold,
          thresholds: opts.thresholds ? readThresholds(opts.thresholds) : undefined,
          sensitive: opts.sensitive
            ?.split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          outDir: opts.out,
        }),
      );
      if (!result.passed) {
        const failed = result.checks.filter((c) => !c.passed).map((c) => `${c.metric}=${fixed(c.value)}`);
        throw new KeelError(
          'FAILED_PRECONDITION',
          `evaluation failed ${failed.length} threshold(s): ${failed.join(', ')}`,
          {
            details: { report: evaluateText(result), result },
          },
        );
      }
      io.emit(result, evaluateText);
    },
  );
}
