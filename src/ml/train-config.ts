/**
 * @module ml/train-config
 * Training from a config (what `keel train --config train.yaml` runs): load the table, split it,
 * train, evaluate on the held-out rows (metrics and fairness under the names `keel evaluate` and
 * the governance gates use), write `model.onnx`, and log params, the data read (with digests),
 * per-iteration losses, the evaluation and the model to a tracking run when one is given. The
 * table is a file, a dataset of the offline store, or a training set the caller's feature store
 * joins (`resolveTrainingSet`): ml never imports the feature store. Every key is documented in
 * docs/train-config.md.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import {
  KeelError,
  noProgress,
  type ProgressFn,
  parseInput,
  strictObject,
  writeFileAtomic,
} from '../core/index.js';
import {
  csvOptionsSchema,
  datasetDigest,
  datasetDir,
  datasetGlob,
  datasetHistory,
  fileColumns,
  fileDigest,
  requireFile,
} from '../data/index.js';
import { type ActiveRun, type DatasetInput, LINEAGE_TAGS, type ParamValue } from '../tracking/index.js';
import { type FeatureMatrix, splitRows, takeRows, takeValues } from './dataset.js';
import { classificationMetrics, definedMetrics, fairnessMetrics, regressionSummary } from './evaluate.js';
import { type FairnessReport, fairnessReport } from './fairness.js';
import { gbdtParamsSchema, predictGbdt, trainGbdt } from './gbdt.js';
import { type LoadedTable, loadTable } from './load.js';
import { logisticParamsSchema, predictLogistic, trainLogistic } from './logistic.js';
import { type ExampleValue, writeMlflowModel } from './mlflow-model.js';
import type { IterationMetrics } from './objective.js';
import { exportOnnx, META_CATEGORIES, META_POSITIVE, META_TARGET } from './onnx-export.js';

/** A refinement wanting exactly one of some optional fields, saying which way it failed. */
const exactlyOne =
  (...keys: string[]) =>
  (value: Record<string, unknown>, ctx: z.RefinementCtx<unknown>) => {
    const given = keys.filter((k) => value[k] !== undefined);
    const list = (ks: string[]) => `${ks.slice(0, -1).join(', ')} and ${ks[ks.length - 1]}`;
    if (given.length === 0) ctx.addIssue({ code: 'custom', message: `needs one of ${list(keys)}` });
    if (given.length > 1) {
      const or = `${given.slice(0, -1).join(', ')} or ${given[given.length - 1]}`;
      ctx.addIssue({ code: 'custom', message: `give ${or}, not both` });
    }
  };

/** Entity rows the feature store joins features onto, point in time (`keel features get-historical`). */
export const trainingSetSchema = strictObject({
  /** CSV or Parquet of join keys, event timestamps and the label, relative to the config file. */
  entities: z.string().min(1),
  featureService: z.string().min(1).optional(),
  /** `view:feature` refs, instead of a feature service. */
  features: z.array(z.string().min(1)).min(1).optional(),
  eventTimestampColumn: z.string().min(1).default('event_timestamp'),
  /** Name the feature columns `view__feature`. */
  fullFeatureNames: z.boolean().default(false),
}).superRefine(exactlyOne('featureService', 'features'));

export type TrainingSetSpec = z.output<typeof trainingSetSchema>;

export const trainConfigSchema = strictObject({
  data: strictObject({
    /** CSV or Parquet table, relative to the config file. */
    path: z.string().min(1).optional(),
    /** A dataset of the offline store (`keel ingest`): every partition it holds now. */
    dataset: z.string().min(1).optional(),
    trainingSet: trainingSetSchema.optional(),
    /** The CSV dialect of `path`; what is left out is sniffed. */
    csv: csvOptionsSchema.optional(),
    target: z.string().min(1),
    positiveLabel: z.string().optional(),
    /** Default: every column but the target and split column, or a training set's feature columns. */
    features: z.array(z.string()).min(1).optional(),
    categorical: z.array(z.string()).optional(),
    missingValues: z.array(z.string()).optional(),
  }).superRefine(exactlyOne('path', 'dataset', 'trainingSet')),
  split: strictObject({
    /** Column whose values pick the training rows; the others are the test rows. */
    column: z.string().optional(),
    trainValues: z.array(z.string()).default(['train']),
    /** Without a column: the fraction of rows held out for testing. */
    testFraction: z.number().gt(0).lt(1).default(0.2),
    seed: z.number().int().default(0),
  }).prefault({}),
  model: z.discriminatedUnion('kind', [
    strictObject({
      kind: z.literal('gbdt'),
      params: gbdtParamsSchema.prefault({}),
      /** Split the `categorical` columns by category sets (true) or by their code order (false). */
      categoricalSplits: z.boolean().default(true),
    }),
    strictObject({
      kind: z.literal('logistic'),
      params: logisticParamsSchema.prefault({}),
    }),
  ]),
  /** The evaluation on the test rows (a classifier's; a regressor gets RMSE, MAE and R²). */
  evaluation: strictObject({
    /** Columns for the fairness table (`<column>.disparate_impact_ratio`, `disparate_impact`). */
    sensitive: z.array(z.string().min(1)).default([]),
    /** Decision threshold on the class-1 probability. */
    threshold: z.number().gt(0).lt(1).default(0.5),
  }).prefault({}),
  /** Where to write the ONNX model, relative to the config file. Default `model.onnx`. */
  out: z.string().default('model.onnx'),
});

export type TrainConfig = z.output<typeof trainConfigSchema>;
export type TrainConfigInput = z.input<typeof trainConfigSchema>;

/** What a resolved training set holds beyond its entity rows. */
export interface ResolvedTrainingSet {
  /** The joined feature columns, in order. */
  features: string[];
  /** Every feature view read, as `view@version`: the run's lineage tag. */
  featureViews: string[];
}

/**
 * Joins a training set (its `entities` an absolute path) and writes it as Parquet to `out`.
 * `keel train` passes one over the Keel home's feature store.
 */
export type ResolveTrainingSet = (spec: TrainingSetSpec, out: string) => Promise<ResolvedTrainingSet>;

export interface TrainFromConfigOptions {
  /** Overrides the config's `out`. */
  out?: string;
  /** The Keel home, for a config with `data.dataset` (its offline store). */
  home?: string;
  /** Folder relative paths resolve against (default: the config file's, or the cwd). */
  baseDir?: string;
  run?: ActiveRun;
  progress?: ProgressFn;
  /** Needed for a config with `data.trainingSet`. */
  resolveTrainingSet?: ResolveTrainingSet;
}

export interface TrainResult {
  modelPath: string;
  kind: 'gbdt' | 'logistic';
  task: 'binary' | 'regression';
  features: string[];
  rows: { train: number; test: number };
  /** How the rows were split, in words: `random 80/20 (seed 0)` or `by column 'split' ...`. */
  split: string;
  iterations: number;
  /** Metrics on the held-out test rows, named as `keel evaluate` names them; null where undefined (a test split of one class). */
  test: Record<string, number | null>;
  /** Fairness on the test rows per `evaluation.sensitive` column. */
  fairness: Record<string, FairnessReport>;
  importance?: Array<{ feature: string; gain: number; split: number }>;
  /** The feature views of a training set, as `view@version`. */
  featureViews?: string[];
  warnings: string[];
}

/** The table to train on: a file, a dataset's partitions, or a joined training set in a temporary folder. */
interface TrainingData {
  path: string;
  /** How messages name it: the joined file is temporary, its entity rows are not. */
  name: string;
  features?: string[];
  trainingSet?: { entities: string; featureViews: string[] };
  /** The data read, for the run's dataset inputs. */
  input?: DatasetInput;
  cleanup: () => void;
}

async function trainingData(
  data: TrainConfig['data'],
  baseDir: string,
  options: TrainFromConfigOptions,
): Promise<TrainingData> {
  const context = { 'mlflow.data.context': 'training' };
  if (data.path !== undefined) {
    const path = resolve(baseDir, data.path);
    requireFile(path);
    const input = { name: basename(path), digest: await fileDigest(path), sourceType: 'local', source: path };
    return { path, name: path, input: { ...input, tags: context }, cleanup: () => {} };
  }
  if (data.dataset !== undefined) {
    if (!options.home) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        'data.dataset needs the Keel home: pass home (keel train does)',
      );
    }
    const path = datasetGlob(options.home, data.dataset);
    if (datasetHistory(options.home, data.dataset).length === 0) {
      throw new KeelError(
        'RESOURCE_DOES_NOT_EXIST',
        `dataset '${data.dataset}' has no ingested data in ${options.home}: keel ingest ${data.dataset} <file> --schema <schema.yaml>`,
      );
    }
    const digest = await datasetDigest(options.home, data.dataset);
    const source = datasetDir(options.home, data.dataset);
    return {
      path,
      name: `dataset '${data.dataset}'`,
      input: { name: data.dataset, digest, sourceType: 'local', source, tags: context },
      cleanup: () => {},
    };
  }
  const resolveTrainingSet = options.resolveTrainingSet;
  if (!data.trainingSet || !resolveTrainingSet) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      'data.trainingSet needs a feature store to join it: pass resolveTrainingSet (keel train does)',
    );
  }
  const entities = resolve(baseDir, data.trainingSet.entities);
  const dir = mkdtempSync(join(tmpdir(), 'keel-training-set-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    const path = join(dir, 'training-set.parquet');
    const resolved = await resolveTrainingSet({ ...data.trainingSet, entities }, path);
    return {
      path,
      name: `training set of ${entities}`,
      features: resolved.features,
      trainingSet: { entities, featureViews: resolved.featureViews },
      input: {
        name: basename(entities),
        digest: await fileDigest(entities),
        sourceType: 'local',
        source: entities,
        tags: context,
      },
      cleanup,
    };
  } catch (err) {
    cleanup();
    throw err;
  }
}

/** Reads and validates a train.yaml. @throws KeelError INVALID_PARAMETER_VALUE / RESOURCE_DOES_NOT_EXIST. */
export function readTrainConfig(path: string): TrainConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new KeelError('RESOURCE_DOES_NOT_EXIST', `cannot read training config '${path}'`, { cause });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (cause) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `training config '${path}' is not valid YAML: ${(cause as Error).message}`,
      { cause },
    );
  }
  return parseInput(trainConfigSchema, raw, `training config '${path}'`);
}

/**
 * Trains the model a config describes and writes it as ONNX (atomically).
 * @throws KeelError as `loadTable`, the trainers and `readTrainConfig` do.
 */
export async function trainFromConfig(
  config: string | TrainConfigInput,
  options: TrainFromConfigOptions = {},
): Promise<TrainResult> {
  const cfg =
    typeof config === 'string'
      ? readTrainConfig(config)
      : parseInput(trainConfigSchema, config, 'training config');
  const baseDir = options.baseDir ?? (typeof config === 'string' ? dirname(resolve(config)) : process.cwd());
  const progress = options.progress ?? noProgress;
  const split = cfg.split;
  const data = await trainingData(cfg.data, baseDir, options);
  const sensitive = cfg.evaluation.sensitive;
  let table: LoadedTable;
  try {
    // A training set's keys, timestamp and other entity columns are not features unless listed;
    // a file's features are every column but the target and the split column.
    const features =
      cfg.data.features ??
      data.features ??
      (await fileColumns(data.path, cfg.data.csv)).filter((c) => c !== cfg.data.target && c !== split.column);
    table = await loadTable({
      path: data.path,
      name: data.name,
      target: cfg.data.target,
      positiveLabel: cfg.data.positiveLabel,
      features,
      categorical: cfg.data.categorical,
      missingValues: cfg.data.missingValues,
      csv: cfg.data.csv,
      extraColumns: [...new Set([...(split.column ? [split.column] : []), ...sensitive])],
    });
  } finally {
    data.cleanup();
  }
  const y = table.y as Float64Array;
  let parts: { train: Uint32Array; held: Uint32Array };
  if (split.column) {
    const values = table.extra[split.column];
    const train: number[] = [];
    const held: number[] = [];
    for (let i = 0; i < values.length; i++)
      (split.trainValues.includes(values[i] ?? '') ? train : held).push(i);
    if (train.length === 0 || held.length === 0) {
      throw new KeelError(
        'DATA_VALIDATION_FAILED',
        `split column '${split.column}' gives ${train.length} training and ${held.length} test rows; both must be non-empty`,
      );
    }
    parts = { train: Uint32Array.from(train), held: Uint32Array.from(held) };
  } else parts = splitRows(y.length, split.testFraction, split.seed);
  const splitText = split.column
    ? `by column '${split.column}' (training values: ${split.trainValues.join(', ')})`
    : `random ${Math.round((1 - split.testFraction) * 100)}/${Math.round(split.testFraction * 100)} (seed ${split.seed})`;
  const xTrain = takeRows(table.x, parts.train);
  const yTrain = takeValues(y, parts.train);
  const xTest = takeRows(table.x, parts.held);
  const yTest = takeValues(y, parts.held);

  const history: IterationMetrics[] = [];
  const label = `train ${cfg.model.kind}`;
  const total = cfg.model.kind === 'gbdt' ? cfg.model.params.iterations : cfg.model.params.maxIterations;
  const onIteration = (m: IterationMetrics) => {
    history.push(m);
    const info = `${m.metric}=${m.train.toFixed(4)}${m.validation === undefined ? '' : ` valid=${m.validation.toFixed(4)}`}`;
    progress({ label, done: m.iteration + 1, total, unit: 'iterations', info });
  };
  const model =
    cfg.model.kind === 'gbdt'
      ? trainGbdt(xTrain, yTrain, cfg.model.params, {
          onIteration,
          categorical: cfg.model.categoricalSplits ? table.categorical : [],
        })
      : trainLogistic(xTrain, yTrain, cfg.model.params, onIteration);
  const task = model.kind === 'gbdt' && model.objective === 'regression' ? 'regression' : 'binary';
  // The model is written before it is tested: metrics on a degenerate test split (one class) are
  // reported as undefined, and nothing about the test rows may cost the trained model.
  const modelPath = resolve(baseDir, options.out ?? cfg.out);
  const metadata: Record<string, string> = { [META_TARGET]: cfg.data.target };
  if (table.categorical.length > 0) metadata[META_CATEGORIES] = JSON.stringify(table.categories);
  if (cfg.data.positiveLabel !== undefined) metadata[META_POSITIVE] = cfg.data.positiveLabel;
  writeFileAtomic(modelPath, exportOnnx(model, { metadata }));

  const testPred = model.kind === 'gbdt' ? predictGbdt(model, xTest) : predictLogistic(model, xTest);
  const threshold = cfg.evaluation.threshold;
  const tested =
    task === 'binary'
      ? classificationMetrics(yTest, testPred, threshold)
      : regressionSummary(yTest, testPred);
  const fairness: Record<string, FairnessReport> = {};
  const fairnessWarnings: string[] = [];
  if (task === 'binary') {
    for (const column of sensitive) {
      const groups = Array.from(parts.held, (i) => table.extra[column][i]);
      fairness[column] = fairnessReport(yTest, testPred, groups, threshold);
      fairnessWarnings.push(...fairness[column].warnings.map((w) => `fairness by '${column}': ${w}`));
    }
  }

  const result: TrainResult = {
    modelPath,
    kind: model.kind,
    task,
    features: model.featureNames,
    rows: { train: parts.train.length, test: parts.held.length },
    split: splitText,
    iterations: model.kind === 'gbdt' ? model.trees.length : history.length,
    test: tested.metrics,
    fairness,
    ...(data.trainingSet ? { featureViews: data.trainingSet.featureViews } : {}),
    warnings: [
      ...model.warnings,
      ...[...tested.warnings, ...fairnessWarnings].map((w) => `test split: ${w}`),
    ],
  };
  if (model.kind === 'gbdt') {
    result.importance = model.featureNames
      .map((feature, i) => ({ feature, gain: model.importance.gain[i], split: model.importance.split[i] }))
      .sort((a, b) => b.gain - a.gain);
  }
  if (options.run)
    await logRun(options.run, cfg, data, history, result, exampleRows(xTest, table.categories));
  return result;
}

async function logRun(
  run: ActiveRun,
  cfg: TrainConfig,
  data: TrainingData,
  history: IterationMetrics[],
  result: TrainResult,
  example: ExampleValue[][],
): Promise<void> {
  if (data.trainingSet) {
    await run.setTags({ [LINEAGE_TAGS.featureViews]: data.trainingSet.featureViews.join(',') });
  }
  if (data.input) await run.logInputs([data.input]);
  // The schema guarantees exactly one of path, dataset and trainingSet, and of featureService and features.
  const spec = cfg.data.trainingSet;
  const source: Record<string, ParamValue> = spec
    ? { training_set: spec.featureService ?? spec.features!.join(','), entities: spec.entities }
    : cfg.data.dataset !== undefined
      ? { dataset: cfg.data.dataset }
      : { data_path: cfg.data.path! };
  const params: Record<string, ParamValue> = {
    model_kind: cfg.model.kind,
    ...source,
    target: cfg.data.target,
    features: result.features.join(','),
    split: result.split,
  };
  for (const [k, v] of Object.entries(cfg.model.params)) {
    if (v !== undefined) params[k] = typeof v === 'object' ? JSON.stringify(v) : v;
  }
  await run.logParams(params);
  for (const h of history) {
    const m: Record<string, number> = { [`train_${h.metric}`]: h.train };
    if (h.validation !== undefined) m[`validation_${h.metric}`] = h.validation;
    await run.logMetrics(m, { step: h.iteration });
  }
  // The evaluation goes under the names `keel evaluate` logs and the governance gates read.
  await run.logMetrics({ ...definedMetrics(result.test), ...fairnessMetrics(result.fairness) });
  // Logged as MLflow 2 logs a model (an MLflow model folder under the run's `model/`), so
  // `runs:/<run id>/model` names it and MLflow's clients load it.
  const dir = mkdtempSync(join(tmpdir(), 'keel-mlflow-model-'));
  try {
    const folder = join(dir, 'model');
    writeMlflowModel(folder, {
      onnx: readFileSync(result.modelPath),
      runId: run.runId,
      artifactPath: 'model',
      example,
    });
    await run.logArtifact(folder);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Up to three rows of `x`, categorical codes back to their text and NaN to null (missing). */
function exampleRows(x: FeatureMatrix, categories: Record<string, string[]>): ExampleValue[][] {
  const rows = Math.min(3, x.columns[0]?.length ?? 0);
  return Array.from({ length: rows }, (_, r) =>
    x.columns.map((column, j) => {
      const v = column[r];
      if (Number.isNaN(v)) return null;
      const cats = categories[x.names[j]];
      return cats ? (cats[v] ?? null) : v;
    }),
  );
}
