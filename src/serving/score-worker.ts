/**
 * @module serving/score-worker
 * A score thread of a served model (serving/score-pool): its own ONNX Runtime session, opened as
 * the main thread's was (same model bytes, settings and optimized-graph cache), so a large call
 * scored here holds this thread instead of the server's event loop and answers the same scores.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { KeelError } from '../core/index.js';
import { inputFeeds, loadOrt, openCachedSession, scoresFromOutput } from '../ml/index.js';
import { OPENED, type ScoreReply, type ScoreRequest, type ScoreWorkerData } from './score-pool.js';

const { model, settings, cache, io } = workerData as ScoreWorkerData;
const failed = (id: number, err: unknown): ScoreReply => ({
  id,
  error: (err as Error).message,
  code: err instanceof KeelError ? err.code : undefined,
});

const opened = Promise.all([loadOrt(), openCachedSession(model, settings, cache)]);
// A session that does not open fails the open and each call with its reason.
opened.then(
  () => parentPort?.postMessage({ id: OPENED, scores: new Float64Array(0) } satisfies ScoreReply),
  (err) => parentPort?.postMessage(failed(OPENED, err)),
);

parentPort?.on('message', async ({ id, values, rows, width }: ScoreRequest) => {
  let reply: ScoreReply;
  try {
    // Not the rows' fault: the call fails as a model failure (EXECUTION_FAILED), not with the open's code.
    const [ort, { session }] = await opened.catch((err: Error) => {
      throw new Error(`its session did not open: ${err.message}`);
    });
    const out = await session.run(inputFeeds(ort, io, values, rows, width), [io.output]);
    reply = { id, scores: scoresFromOutput(out, io, rows) };
  } catch (err) {
    reply = failed(id, err);
  }
  // scoresFromOutput makes a fresh array over its own ArrayBuffer: moved, not cloned.
  parentPort?.postMessage(reply, 'scores' in reply ? [reply.scores.buffer as ArrayBuffer] : []);
});
