/**
 * @module monitoring/log-writer-thread
 * The prediction log's writer thread (monitoring/log-writer): a DuckDB of its own writes each
 * staged write it is sent as one Parquet partition and answers the file, or the error.
 */
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { DuckDBInstance } from '@duckdb/node-api';
import type { WriteReply, WriteRequest } from './log-writer.js';
import { writeStaged } from './staged-write.js';

/**
 * Below the event loop's priority, so a request due while a file is written goes first. On
 * Linux a thread's nice value is its own (the server's other threads keep theirs); raising it
 * needs no privilege. Where it cannot be set, the thread runs at the process's priority.
 */
const WRITER_NICE = 5;
try {
  setPriority(WRITER_NICE);
} catch {
  // Not permitted here: the writes still happen, at the usual priority.
}

/**
 * One thread: the log shares the machine with the requests it records. A write's memory is given
 * back once it is done: by default DuckDB keeps up to 128 MB of freed allocations for reuse,
 * which a server held for good after its first busy second (the server's resident memory after
 * 100-row load, bench/serving/predict.ts).
 */
const db = DuckDBInstance.create(':memory:', { threads: '1', allocator_flush_threshold: '8MB' }).then(
  async (instance) => instance.connect(),
);

async function handle({ id, dir, write }: WriteRequest): Promise<void> {
  let reply: WriteReply;
  try {
    reply = { id, file: await writeStaged(await db, dir, write) };
  } catch (err) {
    reply = { id, error: (err as Error).message };
  }
  parentPort?.postMessage(reply);
}

// One write at a time: they stage into the same table names.
let writes = Promise.resolve();
parentPort?.on('message', (request: WriteRequest) => {
  writes = writes.then(() => handle(request));
});
