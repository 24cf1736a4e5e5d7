/**
 * @module data/partition
 * Writes one Parquet partition (an accepted batch, a write of the prediction log): DuckDB, or
 * Keel's own encoder, writes a hidden temporary file in the dataset's folder, which is fsynced and
 * renamed into place, so readers of `*.parquet` (and a process killed mid-write) never see half a
 * partition.
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { fsyncFileAsync, shortId } from '../core/index.js';
import { literal } from './sql.js';

/** `sha256:<hex>` of a file's bytes. */
export async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/**
 * Writes the result of `selectSql` to `<dir>/part-<atMs>-<shortid>.parquet` and returns its path.
 * On any failure the temporary file is removed and nothing is left in `dir`. The fsyncs run off
 * the event loop, so a server writing partitions in the background keeps answering meanwhile.
 */
export function writePartition(
  conn: DuckDBConnection,
  dir: string,
  selectSql: string,
  atMs: number,
): Promise<string> {
  return publishPartition(dir, atMs, async (tmp) => {
    await conn.run(`COPY (${selectSql}) TO ${literal(tmp)} (FORMAT parquet)`);
    await fsyncFileAsync(tmp);
  });
}

/**
 * Writes a Parquet file's bytes (`data/parquet-encode`) as a partition, as `writePartition` does;
 * the file is written and fsynced off the event loop.
 */
export function writeEncodedPartition(
  dir: string,
  parts: readonly Uint8Array[],
  atMs: number,
): Promise<string> {
  return publishPartition(dir, atMs, async (tmp) => {
    const file = await open(tmp, 'wx');
    try {
      await file.writev(parts);
      await file.sync();
    } finally {
      await file.close();
    }
  });
}

/**
 * `write` makes a hidden temporary file in `dir` and flushes it to disk; it is then renamed into
 * place as `part-<atMs>-<shortid>.parquet`, and the rename flushed too. On failure nothing is left.
 */
async function publishPartition(
  dir: string,
  atMs: number,
  write: (tmp: string) => Promise<void>,
): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const name = `part-${atMs}-${shortId()}.parquet`;
  const tmp = join(dir, `.${name}.tmp`);
  const target = join(dir, name);
  try {
    await write(tmp);
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  // The rename itself must reach the disk before the history points at the partition.
  await fsyncFileAsync(dir);
  return target;
}
