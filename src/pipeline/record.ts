/**
 * @module pipeline/record
 * Records a repro as one tracking run: its params (from the lock), the metrics files' values, the
 * deps' hashes as dataset inputs and the lock's hash, so a model traces back to what made it. The
 * client adds the environment (git commit, Node version, lockfile hash).
 */
import {
  type ActiveRun,
  type DatasetInput,
  LINEAGE_TAGS,
  type ParamValue,
  type TrackingClient,
} from '../tracking/index.js';
import type { LockFile } from './lock.js';
import { type FileValues, showMetrics } from './metrics.js';
import { DEFAULT_PARAMS_FILE } from './params.js';
import type { Project } from './schema.js';

/** What a repro hands to the tracking client. */
export interface RunRecord {
  lock: LockFile;
  /** sha256 of the dvc.lock bytes. */
  lockHash: string;
  stagesRan: string[];
  failed: boolean;
}

const asParam = (v: unknown): ParamValue =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : JSON.stringify(v);

function collectParams(lock: LockFile): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const stage of Object.values(lock.stages)) {
    for (const [file, values] of Object.entries(stage.params ?? {})) {
      for (const [key, v] of Object.entries(values))
        out[file === DEFAULT_PARAMS_FILE ? key : `${file}:${key}`] = asParam(v);
    }
  }
  return out;
}

/** Metric names are the dotted keys; a key found in two files is prefixed with its file. */
function collectMetrics(metrics: FileValues): Record<string, number> {
  const count = new Map<string, number>();
  for (const values of Object.values(metrics))
    for (const k of Object.keys(values)) count.set(k, (count.get(k) ?? 0) + 1);
  const out: Record<string, number> = {};
  for (const [file, values] of Object.entries(metrics)) {
    for (const [k, v] of Object.entries(values)) {
      if (typeof v === 'number') out[count.get(k)! > 1 ? `${file}:${k}` : k] = v;
    }
  }
  return out;
}

function collectInputs(lock: LockFile): DatasetInput[] {
  const seen = new Map<string, DatasetInput>();
  for (const stage of Object.values(lock.stages)) {
    for (const dep of stage.deps ?? []) {
      if (dep.md5) {
        seen.set(dep.path, {
          name: dep.path,
          digest: dep.md5,
          sourceType: 'local',
          source: dep.path,
          tags: { 'mlflow.data.context': 'pipeline' },
        });
      }
    }
  }
  return [...seen.values()];
}

/**
 * Starts the run of a repro, before its first stage runs, so a stage's own tracked work
 * (`keel train` reads `KEEL_RUN_ID`) logs into it.
 */
export function startReproRun(
  client: TrackingClient,
  project: Project,
  experiment = 'pipeline',
): Promise<ActiveRun> {
  return client.startRun({
    experiment,
    runName: 'repro',
    captureEnvironment: true,
    tags: { 'keel.pipeline.file': project.file },
  });
}

/** Logs one run for a repro and ends it (FAILED when a stage failed). Returns the run id. */
export async function recordRepro(
  client: TrackingClient,
  project: Project,
  record: RunRecord,
  experiment = 'pipeline',
  started?: ActiveRun,
): Promise<string> {
  const run = started ?? (await startReproRun(client, project, experiment));
  try {
    await run.setTags({
      'mlflow.runName': `repro ${record.stagesRan.join(',') || '(no-op)'}`,
      [LINEAGE_TAGS.pipelineLock]: record.lockHash,
      'keel.pipeline.stages_ran': record.stagesRan.join(','),
    });
    const params = collectParams(record.lock);
    if (Object.keys(params).length) await run.logParams(params);
    const metrics = collectMetrics(showMetrics(project));
    if (Object.keys(metrics).length) await run.logMetrics(metrics);
    const inputs = collectInputs(record.lock);
    if (inputs.length) await run.logInputs(inputs);
  } catch (err) {
    await run.end('FAILED');
    throw err;
  }
  await run.end(record.failed ? 'FAILED' : 'FINISHED');
  return run.runId;
}
