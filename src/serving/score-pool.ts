/**
 * @module serving/score-pool
 * The worker threads a served model scores its large calls on (keel.yaml `serving.offload`).
 * onnxruntime-node runs a session synchronously on the thread that calls it, so a call of
 * thousands of rows holds the event loop for milliseconds and stalls every other request; on a
 * thread of its own, with a session of its own, it holds only that thread. A small call costs
 * less than the hop to a thread and back, so it stays on the main session (ServingModel).
 *
 * Every thread starts with the model, so the first large call does not wait for one (about half
 * a second to load ONNX Runtime and open a session) and a session a thread cannot open fails the
 * load, not a request. A thread is held open only while a call waits, so an idle pool never keeps
 * a CLI process alive. A thread that dies fails its waiting calls and is replaced at the next call.
 */
import type { Worker } from 'node:worker_threads';
import {
  type ErrorCode,
  KeelError,
  type OffloadSettings,
  type SessionSettings,
  startWorker,
} from '../core/index.js';
import type { ModelIo } from '../ml/index.js';

/**
 * Calls of fewer rows stay on the main thread. The hop to a thread and back costs ~0.1-0.15 ms
 * whatever the size (bench/serving/offload.ts); 1,024 rows of a 100-tree GBDT cost ~1.2 ms.
 */
export const DEFAULT_OFFLOAD_MIN_ROWS = 1024;

/** What a score thread opens its session from: what the main thread opened its own from. */
export interface ScoreWorkerData {
  model: string | Uint8Array;
  settings?: SessionSettings;
  cache: { dir?: string; sourceSha256?: string };
  io: ModelIo;
}
export interface ScoreRequest {
  id: number;
  values: Float32Array;
  rows: number;
  width: number;
}
export type ScoreReply =
  | { id: number; scores: Float64Array }
  | { id: number; error: string; code?: ErrorCode };
/** The id the thread answers once its session is open: the open waits as a call would. */
export const OPENED = -1;

class ScoreThread {
  private readonly worker: Worker;
  private next = 0;
  private readonly waiting = new Map<
    number,
    { resolve: (s: Float64Array) => void; reject: (e: Error) => void }
  >();
  exited = false;
  /** Settles once the thread's session is open, or failed to. */
  readonly opened: Promise<void>;

  constructor(data: ScoreWorkerData) {
    this.worker = startWorker(import.meta.url, 'score-worker', data);
    // Held open while its session opens or a call waits, so an idle thread never keeps a CLI
    // process alive.
    this.opened = new Promise((resolve, reject) =>
      this.waiting.set(OPENED, { resolve: () => resolve(), reject }),
    );
    // A replacement's open is awaited by no one but the call it takes, which fails on its own.
    this.opened.catch(() => {});
    this.worker.on('message', (reply: ScoreReply) => {
      const pending = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) this.worker.unref();
      if ('scores' in reply) pending?.resolve(reply.scores);
      else pending?.reject(reply.code ? new KeelError(reply.code, reply.error) : new Error(reply.error));
    });
    // An uncaught error ends the thread: no call goes to it from here on.
    this.worker.on('error', (err) => {
      this.exited = true;
      this.failAll(err);
    });
    this.worker.on('exit', (code) => {
      this.exited = true;
      this.failAll(new Error(`its score thread exited (code ${code})`));
    });
  }

  get busy(): number {
    return this.waiting.size;
  }

  score(values: Float32Array, rows: number, width: number): Promise<Float64Array> {
    const id = this.next++;
    // A copy, moved rather than cloned: callers keep using their rows after scoring (the
    // prediction log, a shadow), and a batch file reuses its buffer for the next chunk.
    const copy = values.slice();
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, values: copy, rows, width } satisfies ScoreRequest, [copy.buffer]);
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  private failAll(err: Error): void {
    for (const { reject } of this.waiting.values()) reject(err);
    this.waiting.clear();
    this.worker.unref();
  }
}

export class ScorePool {
  private threads: ScoreThread[] = [];
  private closed = false;
  /** Calls scored on the pool's threads so far. */
  calls = 0;
  readonly minRows: number;
  private readonly maxThreads: number;

  constructor(
    private readonly data: ScoreWorkerData,
    settings: OffloadSettings,
  ) {
    this.minRows = settings.minRows ?? DEFAULT_OFFLOAD_MIN_ROWS;
    this.maxThreads = settings.threads;
  }

  /** Threads running now. */
  get size(): number {
    return this.threads.filter((t) => !t.exited).length;
  }

  /**
   * Starts every thread and waits for their sessions.
   * @throws KeelError as `openCachedSession` in a thread; Error when a thread dies first.
   */
  async start(): Promise<void> {
    await Promise.all(this.fill().map((t) => t.opened));
  }

  /**
   * Scores on the least busy thread (a thread still opening its session counts as busy).
   * @throws Error when the thread fails or dies (the caller words it as the main path does);
   *   KeelError as the worker's `inputFeeds` throws it.
   */
  score(values: Float32Array, rows: number, width: number): Promise<Float64Array> {
    if (this.closed) return Promise.reject(new Error('the model was released'));
    const thread = this.fill().reduce((a, b) => (b.busy < a.busy ? b : a));
    this.calls++;
    return thread.score(values, rows, width);
  }

  /** The threads, with any that died replaced. */
  private fill(): ScoreThread[] {
    this.threads = this.threads.filter((t) => !t.exited);
    while (this.threads.length < this.maxThreads) this.threads.push(new ScoreThread(this.data));
    return this.threads;
  }

  /** Terminates every thread; calls still waiting fail. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}
