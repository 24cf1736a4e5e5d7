/**
 * @module pipeline
 * DVC-compatible pipelines: `dvc.yaml` / `params.yaml` / `dvc.lock`, DVC 3 hashing with a stat
 * cache, a content-addressed cache and run cache, repro with parallel stages, status, diffs,
 * plots, checkout and gc.
 *
 * @example
 * const ws = Workspace.open('/path/to/project');
 * try { await repro(ws, { jobs: 2 }); } finally { await ws.close(); }
 */
export { type CheckoutEntry, checkout } from './checkout.js';
export { buildDag, type Dag, dagEdges, renderDagMermaid, renderDagText, selectStages } from './dag.js';
export { type LoadProjectOptions, loadProject } from './dvcfile.js';
export { type GcOptions, type GcResult, gc } from './gc.js';
export { type DirEntry, dirHash, dirManifestText, Hasher, type HashInfo, md5File } from './hash.js';
export { formatLock, type LockFile, type LockOut, type LockStage, parseLock, readLock } from './lock.js';
export {
  diffMetrics,
  diffParams,
  type FileValues,
  metricsFiles,
  showMetrics,
  type ValueDiff,
} from './metrics.js';
export { type PlotsResult, plotFiles, showPlots } from './plots.js';
export { pyJsonDumps } from './pyjson.js';
export { type ReproOptions, type ReproResult, repro } from './repro.js';
export { dictSha256, runCacheKey } from './run-cache.js';
export type { OutSpec, ParamsSpec, Project, Stage } from './schema.js';
export type { StageOutcome, StageResult } from './stage-run.js';
export { type Change, pipelineStatus, type StageStatus, stageChanges } from './status.js';
export { Workspace, type WorkspaceOptions } from './workspace.js';
