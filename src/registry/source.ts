/**
 * @module registry/source
 * Copies a version's source into a staging folder of the artifact store, and finds the lineage
 * behind its run. A source is `runs:/<run_id>/<path>`, `models:/<logged model id>[/<path>]`
 * (MLflow 3), `mlflow-artifacts:/<path>`, or a local file or folder (an upload). A folder (an
 * MLflow model of any flavor, with its MLmodel, environment files and data) is copied whole; a
 * file is copied alone. What the copy holds is judged by registry/contents.
 *
 * Over HTTP (`remote`) a source is confined to the artifact store: the path inside a run's or
 * logged model's folder is normalised (a `..` is refused, not resolved), the files are read
 * through the store, which follows no symbolic link, and a local path is refused before the disk
 * is touched, with one message whether it exists or not. Only the CLI, acting as the local user
 * who owns the files anyway, registers from a local path.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { type ArtifactStore, joinArtifactPath, normalizeArtifactPath } from '../artifacts/index.js';
import { KeelError } from '../core/index.js';
import { artifactUriToPath, ENV_TAGS, LINEAGE_TAGS, type Run, type Tracking } from '../tracking/index.js';
import type { Lineage } from './types.js';

export interface StagedSource {
  /** For a file source: its name in the staging folder (e.g. `model.onnx`); none for a folder. */
  fileName?: string;
  /** The run the source names, if any. */
  runId?: string;
  /** The MLflow 3 logged model the source names, if any. */
  modelId?: string;
}

export interface SourceContext {
  tracking: Tracking;
  artifacts: ArtifactStore;
  /** The source came over HTTP: artifact-store sources only. */
  remote: boolean;
}

const bad = (message: string) => new KeelError('INVALID_PARAMETER_VALUE', message);

const SCHEMES = 'runs:/<run_id>/<path>, models:/m-<logged model id>[/<path>] or mlflow-artifacts:/<path>';

/** Copies the file or folder at store path `path` into `staging`. */
async function stageFromStore(
  artifacts: ArtifactStore,
  path: string,
  source: string,
  staging: string,
): Promise<string | undefined> {
  const kind = await artifacts.kind(path);
  if (kind === undefined) throw bad(`Model source '${source}' names nothing in the artifact store`);
  if (kind === 'folder') {
    await artifacts.copy(path, staging);
    return undefined;
  }
  const fileName = path.slice(path.lastIndexOf('/') + 1);
  await artifacts.copy(path, `${staging}/${fileName}`);
  return fileName;
}

/** Copies a local file or folder into `staging`. */
async function stageFromDisk(
  artifacts: ArtifactStore,
  path: string,
  staging: string,
): Promise<string | undefined> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw bad(`Model source '${path}' does not exist`);
  if (info.isDirectory()) {
    await artifacts.putLocal(path, staging);
    return undefined;
  }
  const fileName = basename(path);
  await artifacts.putLocal(path, `${staging}/${fileName}`);
  return fileName;
}

/**
 * Copies the source's files into the store folder `staging`.
 * @throws INVALID_PARAMETER_VALUE for an unknown scheme, a path leaving its folder, a symbolic
 *   link, or (remote) a local path; RESOURCE_DOES_NOT_EXIST for an unknown run or logged model.
 */
export async function stageSource(
  source: string,
  ctx: SourceContext,
  staging: string,
): Promise<StagedSource> {
  const runs = /^runs:\/([^/]+)(?:\/(.*))?$/.exec(source);
  if (runs) {
    const root = await ctx.tracking.runArtifactRoot(runs[1]);
    const path = joinArtifactPath(root, normalizeArtifactPath(runs[2] ?? ''));
    return { fileName: await stageFromStore(ctx.artifacts, path, source, staging), runId: runs[1] };
  }
  // MLflow 3's register_model names a logged model by its id; its files and run come from it.
  const logged = /^models:\/(m-[0-9a-f]{32})(?:\/(.*))?$/.exec(source);
  if (logged) {
    const model = await ctx.tracking.loggedModels.get(logged[1]);
    const root = artifactUriToPath(model.info.artifact_uri);
    const path = joinArtifactPath(root, normalizeArtifactPath(logged[2] ?? ''));
    return {
      fileName: await stageFromStore(ctx.artifacts, path, source, staging),
      runId: model.info.source_run_id,
      modelId: logged[1],
    };
  }
  if (source.startsWith('mlflow-artifacts:/')) {
    return { fileName: await stageFromStore(ctx.artifacts, artifactUriToPath(source), source, staging) };
  }
  if (/^[a-z][\w+.-]*:\//i.test(source))
    throw bad(`Model source '${source}': use ${SCHEMES} or a local file`);
  if (ctx.remote) {
    throw bad(
      `Model source '${source}' is not in the artifact store: over HTTP a source is ${SCHEMES} (a local file is registered from the CLI, as its owner)`,
    );
  }
  return { fileName: await stageFromDisk(ctx.artifacts, source, staging) };
}

const tagOf = (run: Run, key: string) => run.data.tags.find((t) => t.key === key)?.value;

/** Lineage read from the training run, with what the caller gave taking precedence. */
export function lineageOf(run: Run | undefined, given: Partial<Lineage> = {}): Lineage {
  const views = run ? tagOf(run, LINEAGE_TAGS.featureViews) : undefined;
  const fromRun: Lineage = {
    ...(run ? { run_id: run.info.run_id } : {}),
    datasets: run
      ? run.inputs.dataset_inputs.map((d) => ({ name: d.dataset.name, digest: d.dataset.digest }))
      : [],
    feature_views: views
      ? views
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean)
      : [],
    ...(run && tagOf(run, LINEAGE_TAGS.pipelineLock)
      ? { pipeline_lock_hash: tagOf(run, LINEAGE_TAGS.pipelineLock) }
      : {}),
    ...(run && tagOf(run, ENV_TAGS.gitCommit) ? { code_commit: tagOf(run, ENV_TAGS.gitCommit) } : {}),
    ...(run && tagOf(run, ENV_TAGS.gitDirty) === 'true' ? { code_dirty: true } : {}),
  };
  const defined = Object.fromEntries(
    Object.entries(given).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)),
  );
  return { ...fromRun, ...defined };
}

/** What a complete lineage lacks: each part, and what would record it. */
export function missingLineage(lineage: Lineage): Array<{ part: string; fix: string }> {
  const missing: Array<{ part: string; fix: string }> = [];
  if (!lineage.run_id) {
    missing.push({
      part: 'training run',
      fix: 'register the model from its run: keel models register <name> runs:/<run id>/model',
    });
  }
  if (lineage.datasets.length === 0) {
    missing.push({
      part: 'dataset digests',
      fix: 'train with keel train, which records the data it read with its digest',
    });
  }
  if (!lineage.code_commit) {
    missing.push({ part: 'code commit', fix: 'train inside a git checkout with the code committed' });
  } else if (lineage.code_dirty) {
    missing.push({
      part: 'a clean code commit (the tree had uncommitted changes)',
      fix: 'commit the changes and train again',
    });
  }
  if (!lineage.pipeline_lock_hash) {
    missing.push({
      part: 'pipeline lock hash',
      fix: 'train in a keel repro stage (dvc.yaml: cmd: keel train --config train.yaml) and register that run',
    });
  }
  return missing;
}
