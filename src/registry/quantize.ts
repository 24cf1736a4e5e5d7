/**
 * @module registry/quantize
 * `keel models quantize`: a registered FP32 version made INT8 (ml/onnx-quantize) and registered
 * as a new version of the same model, with the evidence a gate needs to judge it. Both models
 * are evaluated on the same labelled rows (the file given, else the evaluation or training data
 * the version's run names); a new run, a child of the version's run, records the INT8 model's
 * own metrics (so `roc_auc` gates judge the INT8 model) and the quantization's:
 *
 * - `quantization_max_score_diff`, `quantization_mean_score_diff`: change of a row's score;
 * - `quantization_<metric>_delta`: INT8 minus FP32 for each metric (`quantization_roc_auc_delta`);
 * - `quantization_label_agreement`: share of rows labelled alike at the threshold (classifiers);
 * - `quantization_size_ratio`, `quantization_fp32_bytes`, `quantization_int8_bytes`.
 *
 * The new version keeps the source's feature references and lineage (its datasets, code and
 * pipeline lock), and is tagged `keel.quantized_from` and `keel.quantization`. A tree ensemble is
 * refused: trees stay FP32.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { KeelError, type ProgressFn } from '../core/index.js';
import type { CsvOptions } from '../data/index.js';
import { compareModels, definedMetrics, type ModelComparison, quantizeDynamic } from '../ml/index.js';
import { localTrackingClient, type Run } from '../tracking/index.js';
import { requirePermission } from './identity.js';
import type { Registry } from './registry.js';

export const QUANTIZED_FROM_TAG = 'keel.quantized_from';
export const QUANTIZATION_TAG = 'keel.quantization';

export interface QuantizeVersionOptions {
  /** A labelled CSV or Parquet file; default the evaluation, else training, data the version's run names. */
  data?: string;
  /** Default: recorded in the model. */
  target?: string;
  /** Input columns in order; default recorded in the model. */
  features?: string[];
  positiveLabel?: string;
  threshold?: number;
  csv?: CsvOptions;
  /** One weight scale per output column instead of one per matrix. */
  perChannel?: boolean;
  /** Weights in 7 bits (default true); false: 8 bits, for CPUs with VNNI (ml/onnx-quantize). */
  reduceRange?: boolean;
  description?: string;
  /** Where relative data paths in the run resolve (default the working folder). */
  root?: string;
  onProgress?: ProgressFn;
}

export interface QuantizeVersionResult {
  name: string;
  /** The FP32 version quantized, and the INT8 version registered. */
  from_version: string;
  version: string;
  run_id: string;
  method: string;
  per_channel: boolean;
  /** Weights in 7 bits, so no CPU's kernels saturate (ml/onnx-quantize). */
  reduce_range: boolean;
  quantized_nodes: number;
  int8_weights: number;
  fp32_bytes: number;
  int8_bytes: number;
  size_ratio: number;
  evaluation: {
    data: string;
    /** Where the rows came from: the `data` option, or the run's evaluation or training input. */
    data_from: 'option' | 'evaluation' | 'training';
    rows: number;
    task: ModelComparison['task'];
    fp32: Record<string, number | null>;
    int8: Record<string, number | null>;
    max_score_diff: number;
    mean_score_diff: number;
    label_agreement?: number;
  };
  /** The metrics logged into the new version's run, gates read them. */
  metrics: Record<string, number>;
}

/** The labelled file the version's run names: its evaluation input, else its training input. */
function runData(
  run: Run | undefined,
  root: string,
): { path: string; from: 'evaluation' | 'training' } | undefined {
  for (const context of ['evaluation', 'training'] as const) {
    for (const input of run?.inputs.dataset_inputs ?? []) {
      const tag = input.tags.find((t) => t.key === 'mlflow.data.context')?.value;
      if (tag !== context || input.dataset.source_type !== 'local') continue;
      const path = isAbsolute(input.dataset.source) ? input.dataset.source : join(root, input.dataset.source);
      if (existsSync(path)) return { path, from: context };
    }
  }
  return undefined;
}

/**
 * Quantizes version `version` of `name` to INT8, measures it against the FP32 version, and
 * registers it as a new version with that evidence (see the module comment).
 * @throws KeelError PERMISSION_DENIED for an actor who may not register versions;
 *   RESOURCE_DOES_NOT_EXIST for an unknown model or version; INVALID_STATE when its
 *   files are not what was registered; FAILED_PRECONDITION for a tree ensemble or a model with
 *   nothing to quantize; INVALID_PARAMETER_VALUE when no labelled data is given or named by the run.
 */
export async function quantizeVersion(
  registry: Registry,
  name: string,
  version: string | number,
  options: QuantizeVersionOptions = {},
): Promise<QuantizeVersionResult> {
  // Checked first: the work (and the run) is for a version the actor may register.
  requirePermission(registry.actor, 'write', `register a quantized version of '${name}'`);
  const progress = options.onProgress ?? (() => {});
  const uri = `models:/${name}/${version}`;
  const { version: source, package: pkg, modelFile } = await registry.resolveModelUri(uri);
  const fp32 = readFileSync(modelFile);
  progress({ label: 'quantizing', unit: 'steps', done: 0, total: 3 });
  const q = quantizeDynamic(fp32, { perChannel: options.perChannel, reduceRange: options.reduceRange });

  const sourceRun = source.run_id
    ? await registry.tracking.runs.get(source.run_id).catch(() => undefined)
    : undefined;
  const fromRun = options.data ? undefined : runData(sourceRun, options.root ?? process.cwd());
  const data = options.data ?? fromRun?.path;
  if (!data)
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `version ${source.version} of '${name}' has no run naming evaluation or training data found here: give a labelled file (--data <file>) to measure the INT8 model against the FP32 one`,
    );

  const dir = mkdtempSync(join(tmpdir(), 'keel-quantize-'));
  try {
    const int8File = join(dir, 'model.onnx');
    writeFileSync(int8File, q.bytes);
    progress({ label: 'evaluating', unit: 'steps', done: 1, total: 3 });
    const cmp = await compareModels(modelFile, int8File, {
      data,
      target: options.target,
      features: options.features,
      positiveLabel: options.positiveLabel,
      threshold: options.threshold,
      csv: options.csv,
    });
    const method = `int8-dynamic${q.perChannel ? '-per-channel' : ''}`;
    const metrics: Record<string, number> = {
      ...definedMetrics(cmp.candidate),
      quantization_max_score_diff: cmp.maxScoreDiff,
      quantization_mean_score_diff: cmp.meanScoreDiff,
      ...Object.fromEntries(Object.entries(cmp.deltas).map(([k, v]) => [`quantization_${k}_delta`, v])),
      ...(cmp.labelAgreement === undefined ? {} : { quantization_label_agreement: cmp.labelAgreement }),
      quantization_size_ratio: q.int8Bytes / q.fp32Bytes,
      quantization_fp32_bytes: q.fp32Bytes,
      quantization_int8_bytes: q.int8Bytes,
    };

    progress({ label: 'registering', unit: 'steps', done: 2, total: 3 });
    const experiment = sourceRun
      ? (await registry.tracking.experiments.get(sourceRun.info.experiment_id)).name
      : 'Default';
    const client = localTrackingClient(registry.tracking);
    const run = await client.startRun({
      experiment,
      runName: `quantize ${name} v${source.version}`,
      captureEnvironment: false,
      tags: sourceRun ? { 'mlflow.parentRunId': sourceRun.info.run_id } : {},
    });
    let registered: Awaited<ReturnType<Registry['versions']['create']>>;
    try {
      await run.logParams({ quantization: method, quantized_from: uri, evaluation_data: data });
      await run.logMetrics(metrics);
      await run.logArtifact(int8File, 'model');
      await run.end('FINISHED');
      const { run_id: _, ...lineage } = pkg.lineage;
      registered = await registry.versions.create({
        name,
        source: `runs:/${run.runId}/model/model.onnx`,
        runId: run.runId,
        features: pkg.features,
        lineage,
        description:
          options.description ??
          `INT8 dynamic quantization of version ${source.version}: ${(q.int8Bytes / 1024).toFixed(1)} KiB from ${(q.fp32Bytes / 1024).toFixed(1)} KiB, scores within ${cmp.maxScoreDiff.toPrecision(3)} on ${cmp.rows} rows`,
        tags: [
          { key: QUANTIZED_FROM_TAG, value: String(source.version) },
          { key: QUANTIZATION_TAG, value: method },
        ],
      });
    } catch (err) {
      await run.end('FAILED').catch(() => {});
      throw err;
    } finally {
      await client.close();
    }
    progress({ label: 'registering', unit: 'steps', done: 3, total: 3 });
    return {
      name,
      from_version: String(source.version),
      version: String(registered.version),
      run_id: run.runId,
      method,
      per_channel: q.perChannel,
      reduce_range: q.reduceRange,
      quantized_nodes: q.nodes.length,
      int8_weights: q.weights,
      fp32_bytes: q.fp32Bytes,
      int8_bytes: q.int8Bytes,
      size_ratio: q.int8Bytes / q.fp32Bytes,
      evaluation: {
        data,
        data_from: options.data ? 'option' : (fromRun?.from ?? 'option'),
        rows: cmp.rows,
        task: cmp.task,
        fp32: cmp.reference,
        int8: cmp.candidate,
        max_score_diff: cmp.maxScoreDiff,
        mean_score_diff: cmp.meanScoreDiff,
        ...(cmp.labelAgreement === undefined ? {} : { label_agreement: cmp.labelAgreement }),
      },
      metrics,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
