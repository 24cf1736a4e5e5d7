/**
 * @module jobs
 * The job engine for batch work: a BullMQ queue on Redis, `keel worker` processes taking tasks
 * off it (batch scoring chunks, materialization, retraining and monitor runs), and distributed
 * batch scoring over them. Workers may run on as many machines as share the Redis and, for
 * scoring, the folders of the input and output.
 */
export {
  type DistributedScoreOptions,
  type DistributedScoreResult,
  partName,
  scoreDistributed,
} from './distributed-score.js';
export type { MaterializeTask, MonitorTask, RetrainTask, ScoreChunkTask, TaskName } from './handlers.js';
export {
  type JobKind,
  type JobProgress,
  JobQueue,
  type JobRecord,
  type JobStatus,
  parseFailure,
  QUEUE_NAME,
  type TaskStatus,
  taskId,
} from './queue.js';
export { type JobSettings, jobSettings } from './settings.js';
export { type RunningWorker, startWorker, type WorkerEvent, type WorkerOptions } from './worker.js';
