/**
 * @module cli/commands/ml
 * `keel train` and `keel evaluate`: thin wrappers over `trainFromConfig` and `evaluateModel`.
 * `keel train` reads a file, a dataset of the offline store or a training set the feature store
 * of the Keel home joins, and evaluates on its test split; both log into one run per model build
 * (`--run-id`, or the `KEEL_RUN_ID` a repro sets for its stages).
 */
import { basename } from 'node:path';
import type { Command } from 'commander';
import { KeelError } from '../../core/index.js';
import type { FeatureStore } from '../../features/index.js';
import type { EvaluationResult, FairnessReport, ResolveTrainingSet, TrainResult } from '../../ml/index.js';
import type { ActiveRun } from '../../tracking/index.js';
import { action, type CsvFlags, csvFlags, csvOptionsFrom, parseNumberOption } from '../io.js';
import { runIdOption, type TrackOptions, trackOptions, withTrackedRun } from '../tracked.js';
import { withStore } from './features.js';

// ml (DuckDB, ONNX Runtime) loads when a command runs, not when the CLI starts.
const loadMl = () => import('../../ml/index.js');

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

const count = (n: number) => n.toLocaleString('en-US');

function fairnessLines(fairness: Record<string, FairnessReport>): string[] {
  return Object.entries(fairness).map(
    ([column, f]) =>
      `fairness by ${column} (threshold ${f.threshold}): disparate impact ${fixed(f.disparateImpactRatio)}, demographic parity difference ${fixed(f.demographicParityDifference)}, groups ${f.groups.map((g) => `${g.group} ${count(g.count)}`).join(', ')}`,
  );
}

/** Where a command logged: into an existing run, or a run of its own. */
const runLine = (r: { runId?: string; attached?: boolean; experiment?: string }) =>
  r.runId === undefined
    ? 'not tracked (--no-track)'
    : r.attached
      ? `logged to run ${r.runId}`
      : `logged to run ${r.runId} (a new run of experiment '${r.experiment}')`;

function trainText(r: TrainResult & { runId?: string; attached?: boolean; experiment?: string }): string {
  const lines = [
    `trained ${r.kind} (${r.task}), ${r.iterations} iterations`,
    `split ${r.split}: ${count(r.rows.train)} training rows, ${count(r.rows.test)} test rows (split: in train.yaml sets it)`,
    `evaluation on the ${count(r.rows.test)} test rows:`,
    ...Object.entries(r.test).map(([k, v]) => `  ${k.padEnd(18)} ${fixed(v)}`),
    ...fairnessLines(r.fairness),
    ...(r.featureViews ? [`features from ${r.featureViews.join(', ')}`] : []),
    `model written to ${r.modelPath}`,
    runLine(r),
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

/** The model file a `--model` names: an .onnx file, or a registered version and its run. */
async function modelFile(
  io: { config: import('../../core/index.js').KeelConfig },
  model: string,
): Promise<{ file: string; runId?: string }> {
  if (!model.startsWith('models:/')) return { file: model };
  const { Registry } = await import('../../registry/index.js');
  const registry = await Registry.open(io.config);
  try {
    const resolved = await registry.resolveModelUri(model);
    return { file: resolved.modelFile, runId: resolved.version.run_id || undefined };
  } finally {
    await registry.close();
  }
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
    runIdOption(
      trackOptions(
        program
          .command('train')
          .description(
            'train a model from a train.yaml, evaluate it on its test split, write it as ONNX and record it in a tracking run',
          )
          .requiredOption('--config <file>', 'training config (YAML): every key is in docs/train-config.md')
          .option('--out <file>', 'where to write the ONNX model (overrides the config)')
          .addHelpText(
            'after',
            '\ntrain.yaml: data (path | dataset | trainingSet, target, features, categorical, csv), split (default: random 80/20, seed 0),\nmodel (gbdt | logistic, params), evaluation (sensitive, threshold), out. Every key and its default: docs/train-config.md',
          ),
        'train',
      ),
    ),
    async (io, opts: { config: string; out?: string } & TrackOptions) => {
      const { trainFromConfig } = await loadMl();
      // The store opens nothing until a training set asks it to.
      const result = await withStore(io, (store) =>
        withTrackedRun(io.config, opts, async (run, attached) => ({
          ...(await trainFromConfig(opts.config, {
            out: opts.out,
            home: io.config.home,
            progress: io.progress,
            run,
            resolveTrainingSet: trainingSetsFrom(store),
          })),
          ...tracked(run, attached, opts),
        })),
      );
      io.emit(result, trainText);
    },
  );
  action(
    csvFlags(
      runIdOption(
        trackOptions(
          program
            .command('evaluate')
            .description(
              "evaluate an ONNX model on labelled data: metrics, plot CSVs, fairness, threshold gates; logged into a run (the version's own for a models:/ URI)",
            )
            .requiredOption(
              '--model <file|uri>',
              'an ONNX file, or a registered version (models:/name/3, models:/name@alias)',
            )
            .requiredOption('--data <file>', 'CSV, CSV.gz or Parquet with the features and the target')
            .option('--target <column>', 'label column (default: the one recorded in the model)')
            .option(
              '--features <columns>',
              'comma-separated input columns, in order (default: recorded in the model)',
            )
            .option(
              '--task <task>',
              'binary or regression (default: recorded in the model, or from its outputs)',
            )
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
      ),
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
      } & TrackOptions &
        CsvFlags,
    ) => {
      const { evaluateModel, readThresholds } = await loadMl();
      const { fileDigest } = await import('../../data/index.js');
      const model = await modelFile(io, opts.model);
      // A registered version's metrics belong in its own run, where its gates read them.
      const runId = opts.runId ?? (process.env.KEEL_RUN_ID || model.runId);
      const result = await withTrackedRun(io.config, { ...opts, runId }, async (run, attached) => {
        const evaluation = await evaluateModel({
          run,
          model: model.file,
          data: opts.data,
          csv: csvOptionsFrom(opts),
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
        });
        await run?.logInputs([
          {
            name: basename(opts.data),
            digest: await fileDigest(opts.data),
            sourceType: 'local',
            source: opts.data,
            tags: { 'mlflow.data.context': 'evaluation' },
          },
        ]);
        return { ...evaluation, model: opts.model, ...tracked(run, attached, opts) };
      });
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
      io.emit(result, (r) => `${evaluateText(r)}\n${runLine(r)}`);
    },
  );
}

/** The run a command logged to, for its output. */
const tracked = (run: ActiveRun | undefined, attached: boolean, opts: TrackOptions) =>
  run ? { runId: run.runId, attached, experiment: attached ? undefined : opts.experiment } : {};
