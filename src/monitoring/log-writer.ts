/**
 * @module monitoring/log-writer
 * The thread the prediction log's Parquet files are written on. DuckDB's calls do much of their
 * work on the thread that makes them (a statement's planning, an appender's close, often a whole
 * small COPY): about 8 ms a write of 1,000 requests, in pieces of up to 4 ms, which on the
 * server's event loop stalled every request due meanwhile once a second. Here they hold a thread
 * of their own, at a lower scheduling priority than the event loop (bench/serving/predict.ts).
 *
 * A write's staged tables are moved to the thread, not copied. The thread starts at the first
 * write and is held open only while a write waits, so it never keeps a process alive; one that
 * dies fails the writes it had (their rows stay buffered in the log) and is replaced at the next.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../core/index.js';
import type { StagedWrite } from './staged-write.js';

export interface WriteRequest {
  id: number;
  dir: string;
  write: StagedWrite;
}
export type WriteReply = { id: number; file: string } | { id: number; error: string };

export class LogWriter {
  private worker?: Worker;
  private next = 0;
  private readonly waiting = new Map<
    number,
    { resolve: (file: string) => void; reject: (e: Error) => void }
  >();

  /**
   * Writes `write` as one Parquet partition under `dir`, on the writer thread.
   * @returns the file written.
   * @throws Error as the write failed in the thread (or the thread died).
   */
  write(dir: string, write: StagedWrite): Promise<string> {
    const worker = this.thread();
    const id = this.next++;
    // Staged columns are made for this write alone: their buffers move to the thread.
    const moved = new Set<ArrayBuffer>();
    for (const table of write.tables)
      for (const column of table.columns)
        if (ArrayBuffer.isView(column) && column.buffer instanceof ArrayBuffer) moved.add(column.buffer);
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) worker.ref();
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, dir, write } satisfies WriteRequest, [...moved]);
    });
  }

  /** Ends the thread; writes still waiting fail. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker(import.meta.url, 'log-writer-thread', undefined);
    worker.unref();
    worker.on('message', (reply: WriteReply) => {
      const pending = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) worker.unref();
      if ('file' in reply) pending?.resolve(reply.file);
      else pending?.reject(new Error(reply.error));
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const { reject } of this.waiting.values()) reject(err);
      this.waiting.clear();
    };
    // An uncaught error ends the thread: the next write starts another.
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the prediction log's writer thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }
}
