/**
 * @module pipeline/record
 * Records a repro as one tracking run: its params (from the lock), the metrics files' values, the
 * deps' hashes as dataset inputs and the lock's hash, so a model traces back to what made it. The
 * client adds the environment (git commit, Node version, lockfile hash).
 */
import type { ActiveRun, DatasetInput, ParamValue, TrackingClient } from '../tracking/index.js';
import { type LockFile, lockItems, lockParams, lockStage } from './lock.js';
import { type FilesData, showMetrics } from './metrics.js';
import { DEFAULT_PARAMS_FILE, flattenDict } from './params.js';
import { isDict, PyFloat, type PyValue, pyStr } from './pyvalue.js';
import type { Project } from './schema.js';

/** What a repro hands to the tracking client. */
export interface RunRecord {
  lock: LockFile;
  /** sha256 of the dvc.lock bytes. */
  lockHash: string;
  stagesRan: string[];
  failed: boolean;
}

const asParam = (v: PyValue): ParamValue =>
  typeof v === 'string' || typeof v === 'boolean'
    ? v
    : typeof v === 'number'
      ? v
      : v instanceof PyFloat
        ? v.value
        : v === null
          ? 'None'
          : pyStr(v);

function collectParams(lock: LockFile): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const name of lock.stages.keys()) {
    for (const [file, values] of lockParams(lockStage(lock, String(name)))) {
      if (!isDict(values)) continue;
      for (const [key, v] of values) {
        out[file === DEFAULT_PARAMS_FILE ? String(key) : `${String(file)}:${String(key)}`] = asParam(v);
      }
    }
  }
  return out;
}

/** Metric names are the dotted keys; a key found in two files is prefixed with its file. */
function collectMetrics(metrics: FilesData): Record<string, number> {
  const flat = new Map<string, Map<string, number>>();
  for (const [file, r] of metrics) {
    if (!('data' in r) || !isDict(r.data)) continue;
    const values = new Map<string, number>();
    for (const [k, v] of flattenDict(r.data)) {
      const n = v instanceof PyFloat ? v.value : typeof v === 'number' ? v : undefined;
      if (n !== undefined) values.set(k, n);
    }
    flat.set(file, values);
  }
  const count = new Map<string, number>();
  for (const values of flat.values()) for (const k of values.keys()) count.set(k, (count.get(k) ?? 0) + 1);
  const out: Record<string, number> = {};
  for (const [file, values] of flat) {
    for (const [k, v] of values) out[count.get(k)! > 1 ? `${file}:${k}` : k] = v;
  }
  return out;
}

function collectInputs(lock: LockFile): DatasetInput[] {
  const seen = new Map<string, DatasetInput>();
  for (const name of lock.stages.keys()) {
    for (const dep of lockItems(lockStage(lock, String(name)), 'deps')) {
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

/** Logs one run for a repro and ends it (FAILED when a stage failed). Returns the run id. */
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

/** Logs one run for a repro (the one started for it, or a new one) and ends it (FAILED when a stage failed). */
export async function recordRepro(
  client: TrackingClient,
  project: Project,
  record: RunRecord,
  options: { experiment?: string; home?: string; started?: ActiveRun } = {},
): Promise<string> {
  // Loaded here: a repro that records nothing does not load tracking.
  const { LINEAGE_TAGS } = await import('../tracking/index.js');
  const run = options.started ?? (await startReproRun(client, project, options.experiment));
  const home = options.home ?? `${project.root}/.keel`;
  try {
    await run.setTags({
      'mlflow.runName': `repro ${record.stagesRan.join(',') || '(no-op)'}`,
      [LINEAGE_TAGS.pipelineLock]: record.lockHash,
      'keel.pipeline.stages_ran': record.stagesRan.join(','),
    });
    const params = collectParams(record.lock);
    if (Object.keys(params).length) await run.logParams(params);
    const metrics = collectMetrics(showMetrics(project.root, home));
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
