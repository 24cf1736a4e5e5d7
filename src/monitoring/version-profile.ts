/**
 * @module monitoring/version-profile
 * The reference profile of a registered version, built on first use: from a data file given, or
 * else from the training data its run names (a dataset input marked `training` that is a local
 * file, or the `data_path` param of `keel train`). The model scores those rows in ONNX Runtime,
 * the run's metrics become the baseline, and the profile is stored so monitoring never reads the
 * data again.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { type Clock, KeelError, systemClock } from '../core/index.js';
import {
  loadTable,
  META_CATEGORIES,
  META_FEATURES,
  META_TASK,
  readOnnxSignature,
  scoreOnnx,
} from '../ml/index.js';
import type { Registry } from '../registry/index.js';
import type { Run } from '../tracking/index.js';
import { buildProfile, type ProfileColumn, type ReferenceProfile } from './profile.js';
import type { ProfileStore } from './profile-store.js';

export interface ProfileVersionOptions {
  registry: Registry;
  store: ProfileStore;
  model: string;
  version: string | number;
  /** A CSV or Parquet file of the training data; default the one the version's run names. */
  data?: string;
  /** Build it again even when one is stored (it replaces the stored one). */
  rebuild?: boolean;
  /** Where relative paths in run params resolve (default the working folder). */
  root?: string;
  clock?: Clock;
  sampleRows?: number;
}

const contextOf = (input: Run['inputs']['dataset_inputs'][number]) =>
  input.tags.find((t) => t.key === 'mlflow.data.context')?.value;

/** The training data file a run names, if it names one that exists here. */
export function trainingDataOf(run: Run | undefined, root: string): string | undefined {
  if (!run) return undefined;
  const candidates = [
    ...run.inputs.dataset_inputs
      .filter((d) => contextOf(d) === 'training' && d.dataset.source_type === 'local')
      .map((d) => d.dataset.source),
    ...run.data.params.filter((p) => p.key === 'data_path').map((p) => p.value),
  ];
  return candidates
    .map((p) => (isAbsolute(p) ? p : resolve(root, p)))
    .find((p) => existsSync(p) && /\.(parquet|csv|csv\.gz|tsv)$/i.test(p));
}

/** The run's latest metrics, by key. */
export function runMetrics(run: Run | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of run?.data.metrics ?? []) out[m.key] = m.value;
  return out;
}

/**
 * The version's stored profile, or a new one built and stored.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST for an unknown version, or when no data is given and
 *   the run names no training file that exists (the message says how to give one);
 *   INVALID_PARAMETER_VALUE when the model records no feature names or the file lacks a feature.
 */
export async function profileVersion(options: ProfileVersionOptions): Promise<ReferenceProfile> {
  const { store, model } = options;
  const version = String(options.version);
  if (!options.rebuild && options.data === undefined) {
    const stored = await store.get(model, version);
    if (stored) return stored;
  }
  const profile = await buildVersionProfile(options);
  if (options.rebuild || options.data !== undefined) await store.delete(model, version);
  return store.save(profile);
}

/**
 * A version's profile built from `data` (or its run's training file), not stored: what a monitor
 * whose reference is a dataset compares with. Throws as {@link profileVersion}.
 */
export async function buildVersionProfile(
  options: Omit<ProfileVersionOptions, 'store' | 'rebuild'>,
): Promise<ReferenceProfile> {
  const { registry, model } = options;
  const version = String(options.version);
  const resolved = await registry.resolveModelUri(`models:/${model}/${version}`);
  const runId = resolved.version.run_id;
  const run = runId ? await registry.tracking.runs.get(runId).catch(() => undefined) : undefined;
  const data = options.data ?? trainingDataOf(run, options.root ?? process.cwd());
  if (data === undefined)
    throw new KeelError(
      'RESOURCE_DOES_NOT_EXIST',
      `version ${version} of '${model}' has no reference profile, and ${run ? `its run ${run.info.run_id} names no training data file that exists here` : 'it has no training run'}: build one with \`keel monitor profile ${model} ${version} --data <training file>\``,
    );
  const metadata = readOnnxSignature(resolved.modelFile).metadata;
  const features = metadata[META_FEATURES]
    ? (JSON.parse(metadata[META_FEATURES]) as string[])
    : resolved.package.features.map((ref) => ref.slice(ref.indexOf(':') + 1));
  if (features.length === 0)
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `version ${version} of '${model}' records no feature names ('${META_FEATURES}' metadata or feature references), so its inputs cannot be profiled`,
    );
  const categories: Record<string, string[]> = metadata[META_CATEGORIES]
    ? JSON.parse(metadata[META_CATEGORIES])
    : {};
  const table = await loadTable({ path: data, features, categories });
  const scores = await scoreOnnx(resolved.modelFile, table.x);
  const columns: ProfileColumn[] = table.x.names.map((name, j) => {
    const values = table.x.columns[j];
    const codes = categories[name];
    if (!codes) return { name, values };
    return { name, labels: Array.from(values, (c) => (Number.isNaN(c) ? null : codes[c])), codes };
  });
  const task =
    metadata[META_TASK] === 'regression' || metadata[META_TASK] === 'binary'
      ? metadata[META_TASK]
      : resolved.package.signature.outputs.some((o) => o.name === 'probabilities')
        ? 'binary'
        : 'regression';
  return buildProfile({
    model,
    version,
    createdAt: (options.clock ?? systemClock).now(),
    source: { path: data, ...(runId ? { runId } : {}) },
    columns,
    scores,
    task,
    metrics: runMetrics(run),
    sampleRows: options.sampleRows,
  });
}
