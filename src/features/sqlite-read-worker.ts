/**
 * @module features/sqlite-read-worker
 * The SQLite online store's reader thread: large reads run here, on a read-only connection of its
 * own (WAL lets it read while the main connection writes), so the server's event loop keeps
 * answering small requests meanwhile. It runs the same query as the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { BoundedCache } from '../core/index.js';
import type { ReadReply, ReadRequest, ReadRow } from './sqlite-read.js';

const db = new Database((workerData as { path: string }).path, { readonly: true, fileMustExist: true });
const statements = new BoundedCache<string, Database.Statement<[string, string]>>(256);

parentPort?.on('message', ({ id, sql, view, keys }: ReadRequest) => {
  let reply: ReadReply;
  try {
    const read = statements.getOrMake(sql, () => db.prepare<[string, string]>(sql).raw(true));
    reply = { id, rows: read.all(view, keys) as unknown as ReadRow[] };
  } catch (err) {
    reply = { id, error: (err as Error).message };
  }
  parentPort?.postMessage(reply);
});
