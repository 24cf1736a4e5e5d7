/**
 * @module serving/score-worker
 * A score thread of a served model (serving/score-pool): its own ONNX Runtime session, opened as
 * the main thread's was (same model bytes, settings and optimized-graph cache), so a large call
 * scored here holds this thread instead of the server's event loop and answers the same scores.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { KeelError } from '../core/index.js';
import { inputFeeds, loadOrt, openCachedSession, scoresFromOutput } from '../ml/index.js';
import type { ScoreReply, ScoreRequest, ScoreWorkerData } from './score-pool.js';

const { model, settings, cache, io } = workerData as ScoreWorkerData;
const opened = Promise.all([loadOrt(), openCachedSession(model, settings, cache)]);
// A session that does not open fails each call with its reason rather than killing the thread.
opened.catch(() => {});

parentPort?.on('message', async ({ id, values, rows, width }: ScoreRequest) => {
  let reply: ScoreReply;
  try {
    const [ort, { session }] = await opened;
    const out = await session.run(inputFeeds(ort, io, values, rows, width), [io.output]);
    reply = { id, scores: scoresFromOutput(out, io, rows) };
  } catch (err) {
    reply = { id, error: (err as Error).message, code: err instanceof KeelError ? err.code : undefined };
  }
  // scoresFromOutput makes a fresh array over its own ArrayBuffer: moved, not cloned.
  parentPort?.postMessage(reply, 'scores' in reply ? [reply.scores.buffer as ArrayBuffer] : []);
});
