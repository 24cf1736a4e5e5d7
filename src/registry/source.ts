/**
 * @module registry/source
 * Finds the ONNX file behind a version's source and the lineage behind its run. A source is a
 * local file (an upload), `runs:/<run_id>/<path>`, `models:/<logged model id>` (MLflow 3) or
 * `mlflow-artifacts:/<path>`; a folder source
 * (an MLflow model directory) must hold one `.onnx` file at its top.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactStore } from '../artifacts/index.js';
import { KeelError } from '../core/index.js';
import { artifactUriToPath, ENV_TAGS, LINEAGE_TAGS, type Run, type Tracking } from '../tracking/index.js';
import type { Lineage } from './types.js';

export interface ResolvedSource {
  /** The ONNX file on local disk. */
  file: string;
  /** The run the source names, if any. */
  runId?: string;
}

async function onnxIn(path: string, source: string): Promise<string> {
  const info = await stat(path).catch(() => undefined);
  if (!info)
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `Model source '${source}' does not exist (looked at ${path})`,
    );
  if (info.isFile()) return path;
  const onnx = (await readdir(path)).filter((f) => f.endsWith('.onnx')).sort();
  const chosen = onnx.includes('model.onnx') ? 'model.onnx' : onnx.length === 1 ? onnx[0] : undefined;
  if (!chosen) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      onnx.length === 0
        ? `Model source '${source}' holds no .onnx file: Keel registers ONNX models`
        : `Model source '${source}' holds several .onnx files (${onnx.join(', ')}): name one`,
    );
  }
  return join(path, chosen);
}

/** @throws INVALID_PARAMETER_VALUE for an unknown scheme or a source with no ONNX file. */
export async function resolveSource(
  source: string,
  tracking: Tracking,
  artifacts: ArtifactStore,
): Promise<ResolvedSource> {
  const runs = /^runs:\/([^/]+)(?:\/(.*))?$/.exec(source);
  if (runs) {
    const root = await tracking.runArtifactRoot(runs[1]);
    return { file: await onnxIn(artifacts.localPath(join(root, runs[2] ?? '')), source), runId: runs[1] };
  }
  // MLflow 3's register_model names a logged model by its id; its files and run come from it.
  const logged = /^models:\/(m-[0-9a-f]{32})(?:\/(.*))?$/.exec(source);
  if (logged) {
    const model = await tracking.loggedModels.get(logged[1]);
    const root = artifactUriToPath(model.info.artifact_uri);
    return {
      file: await onnxIn(artifacts.localPath(join(root, logged[2] ?? '')), source),
      runId: model.info.source_run_id,
    };
  }
  if (source.startsWith('mlflow-artifacts:/')) {
    return { file: await onnxIn(artifacts.localPath(artifactUriToPath(source)), source) };
  }
  if (/^[a-z][\w+.-]*:\//i.test(source)) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `Model source '${source}': use runs:/, models:/<logged model id>, mlflow-artifacts:/ or a local file`,
    );
  }
  return { file: await onnxIn(source, source) };
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
