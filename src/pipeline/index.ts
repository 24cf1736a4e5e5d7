/**
 * @module pipeline
 * DVC-compatible pipelines: `dvc.yaml` / `params.yaml` / `dvc.lock` read and written as DVC 3
 * does, DVC hashing with a stat cache and `.dvcignore`, a content-addressed cache and run cache,
 * repro with parallel stages, status, diffs, plots, checkout and gc.
 *
 * @example
 * const ws = Workspace.open('/path/to/project');
 * try { await repro(ws, { jobs: 2 }); } finally { await ws.close(); }
 */
export { type CheckoutOptions, type CheckoutResult, checkout } from './checkout.js';
export {
  buildDag,
  collectTargets,
  type Dag,
  dfsPostorder,
  filterGraph,
  printGraph,
  renderDot,
  renderMermaid,
  renderText,
  selectStages,
} from './dag.js';
export { type LoadProjectOptions, loadProject } from './dvcfile.js';
export { type GcOptions, type GcResult, gc } from './gc.js';
export { type DirEntry, dirHash, dirManifestText, Hasher, type HashInfo, md5File } from './hash.js';
export {
  formatLock,
  type LockedItem,
  type LockFile,
  lockItems,
  lockStage,
  parseLock,
  readLock,
} from './lock.js';
export {
  type DiffResult,
  diffMetrics,
  diffParams,
  diffToPy,
  type FilesData,
  filesToPy,
  metricsFiles,
  type StageMetricsFile,
  showMetrics,
  showParams,
  stageMetrics,
  type ValueDiff,
} from './metrics.js';
export { type PlotsResult, plotFiles, showPlots } from './plots.js';
export { fromJs, PyDict, PyFloat, type PyValue, pyJsonDumps } from './pyvalue.js';
export { type ReproOptions, type ReproResult, repro } from './repro.js';
export { dictSha256, runCacheKey } from './run-cache.js';
export type { OutSpec, ParamsSpec, Project, Stage } from './schema.js';
export type { StageOutcome, StageResult } from './stage-run.js';
export { pipelineStatus, type StatusEntry } from './status.js';
export { diffTable, metricsTable } from './tabulate.js';
export { Workspace, type WorkspaceOptions } from './workspace.js';
