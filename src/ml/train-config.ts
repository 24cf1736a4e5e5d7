/**
 * @module ml/train-config
 * Training from a config (what `keel train --config train.yaml` runs): load the table, split it,
 * train, score the held-out rows, write `model.onnx`, and log params, per-iteration losses, test
 * metrics and the model to a tracking run when one is given. The table is a file, or a training
 * set the caller's feature store joins (`resolveTrainingSet`): ml never imports the feature store.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { KeelError, noProgress, type ProgressFn, parseInput, writeFileAtomic } from '../core/index.js';
import { fileDigest } from '../data/index.js';
import { type ActiveRun, LINEAGE_TAGS, type ParamValue } from '../tracking/index.js';
import { splitRows, takeRows, takeValues } from './dataset.js';
import { classificationMetrics, definedMetrics, regressionSummary } from './evaluate.js';
import { gbdtParamsSchema, predictGbdt, trainGbdt } from './gbdt.js';
import { type LoadedTable, loadTable } from './load.js';
import { logisticParamsSchema, predictLogistic, trainLogistic } from './logistic.js';
import type { IterationMetrics } from './objective.js';
import { exportOnnx, META_CATEGORIES, META_POSITIVE, META_TARGET } from './onnx-export.js';

/** A refinement wanting exactly one of two optional fields, saying which way it failed. */
const exactlyOne =
  (a: string, b: string) => (value: Record<string, unknown>, ctx: z.RefinementCtx<unknown>) => {
    const given = [a, b].filter((k) => value[k] !== undefined).length;
    if (given !== 1) {
      const message = given === 0 ? `needs one of ${a} and ${b}` : `give ${a} or ${b}, not both`;
      ctx.addIssue({ code: 'custom', message });
    }
  };

/** Entity rows the feature store joins features onto, point in time (`keel features get-historical`). */
export const trainingSetSchema = z
  .strictObject({
    /** CSV or Parquet of join keys, event timestamps and the label, relative to the config file. */
    entities: z.string().min(1),
    featureService: z.string().min(1).optional(),
    /** `view:feature` refs, instead of a feature service. */
    features: z.array(z.string().min(1)).min(1).optional(),
    eventTimestampColumn: z.string().min(1).default('event_timestamp'),
    /** Name the feature columns `view__feature`. */
    fullFeatureNames: z.boolean().default(false),
  })
  .superRefine(exactlyOne('featureService', 'features'));

export type TrainingSetSpec = z.output<typeof trainingSetSchema>;

export const trainConfigSchema = z.strictObject({
  data: z
    .strictObject({
      /** CSV or Parquet table, relative to the config file. */
      path: z.string().min(1).optional(),
      trainingSet: trainingSetSchema.optional(),
      target: z.string().min(1),
      positiveLabel: z.string().optional(),
      /** Default: every column but the target and split column, or a training set's feature columns. */
      features: z.array(z.string()).min(1).optional(),
      categorical: z.array(z.string()).optional(),
      missingValues: z.array(z.string()).optional(),
    })
    .superRefine(exactlyOne('path', 'trainingSet')),
  split: z
    .strictObject({
      /** Column whose values pick the training rows; the others are the test rows. */
      column: z.string().optional(),
      trainValues: z.array(z.string()).default(['train']),
      /** Without a column: the fraction of rows held out for testing. */
      testFraction: z.number().gt(0).lt(1).default(0.2),
      seed: z.number().int().default(0),
    })
    .prefault({}),
  model: z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('gbdt'),
      params: gbdtParamsSchema.prefault({}),
      /** Split the `categorical` columns by category sets (true) or by their code order (false). */
      categoricalSplits: z.boolean().default(true),
    }),
    z.strictObject({
      kind: z.literal('logistic'),
      params: logisticParamsSchema.prefault({}),
    }),
  ]),
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
  iterations: number;
  /** Metrics on the held-out test rows; null where undefined (a test split of one class). */
  test: Record<string, number | null>;
  importance?: Array<{ feature: string; gain: number; split: number }>;
  /** The feature views of a training set, as `view@version`. */
  featureViews?: string[];
  warnings: string[];
}

/** The table to train on: a file, or a joined training set in a temporary folder. */
interface TrainingData {
  path: string;
  /** How messages name it: the joined file is temporary, its entity rows are not. */
  name: string;
  features?: string[];
  trainingSet?: { entities: string; featureViews: string[] };
  cleanup: () => void;
}

async function trainingData(
  data: TrainConfig['data'],
  baseDir: string,
  resolveTrainingSet: ResolveTrainingSet | undefined,
): Promise<TrainingData> {
  if (data.path !== undefined) {
    const path = resolve(baseDir, data.path);
    return { path, name: path, cleanup: () => {} };
  }
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
  const data = await trainingData(cfg.data, baseDir, options.resolveTrainingSet);
  let table: LoadedTable;
  try {
    table = await loadTable({
      path: data.path,
      name: data.name,
      target: cfg.data.target,
      positiveLabel: cfg.data.positiveLabel,
      // A training set's keys, timestamp and other entity columns are not features unless listed.
      features: cfg.data.features ?? data.features,
      categorical: cfg.data.categorical,
      missingValues: cfg.data.missingValues,
      extraColumns: split.column ? [split.column] : [],
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
  const tested =
    task === 'binary' ? classificationMetrics(yTest, testPred) : regressionSummary(yTest, testPred);

  const result: TrainResult = {
    modelPath,
    kind: model.kind,
    task,
    features: model.featureNames,
    rows: { train: parts.train.length, test: parts.held.length },
    iterations: model.kind === 'gbdt' ? model.trees.length : history.length,
    test: tested.metrics,
    ...(data.trainingSet ? { featureViews: data.trainingSet.featureViews } : {}),
    warnings: [...model.warnings, ...tested.warnings.map((w) => `test split: ${w}`)],
  };
  if (model.kind === 'gbdt') {
    result.importance = model.featureNames
      .map((feature, i) => ({ feature, gain: model.importance.gain[i], split: model.importance.split[i] }))
      .sort((a, b) => b.gain - a.gain);
  }
  if (options.run) await logRun(options.run, cfg, data, history, result);
  return result;
}

async function logRun(
  run: ActiveRun,
  cfg: TrainConfig,
  data: TrainingData,
  history: IterationMetrics[],
  result: TrainResult,
): Promise<void> {
  if (data.trainingSet) {
    const { entities, featureViews } = data.trainingSet;
    await run.setTags({ [LINEAGE_TAGS.featureViews]: featureViews.join(',') });
    await run.logInputs([
      {
        name: basename(entities),
        digest: await fileDigest(entities),
        sourceType: 'local',
        source: entities,
        tags: { 'mlflow.data.context': 'training' },
      },
    ]);
  }
  // The schema guarantees exactly one of path and trainingSet, and of featureService and features.
  const spec = cfg.data.trainingSet;
  const source: Record<string, ParamValue> = spec
    ? { training_set: spec.featureService ?? spec.features!.join(','), entities: spec.entities }
    : { data_path: cfg.data.path! };
  const params: Record<string, ParamValue> = {
    model_kind: cfg.model.kind,
    ...source,
    target: cfg.data.target,
    features: result.features.join(','),
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
  await run.logMetrics(
    Object.fromEntries(Object.entries(definedMetrics(result.test)).map(([k, v]) => [`test_${k}`, v])),
  );
  await run.logArtifact(result.modelPath);
}
