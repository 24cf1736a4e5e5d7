/**
 * @module features/push-offline
 * The offline half of a push: the rows become one Parquet file appended atomically to the push
 * source's batch source (a folder of Parquet files), typed by the views' schemas, so training sets
 * and materialization read them as they read every other file of that source.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { invalid, shortId } from '../core/index.js';
import type { FeatureView, Source } from './definitions.js';
import { type ColumnType, type PathContext, resolvePath, tableFromRows, writeParquet } from './duck.js';
import type { PreparedPush } from './push.js';

/** The folder an offline push writes into, or why the batch source cannot take one. */
export function appendFolder(pushSource: string, batch: Source, ctx: PathContext): string {
  if (batch.kind !== 'file' || batch.format !== 'parquet' || !/\*[^/\\]*$/.test(batch.path)) {
    throw invalid(
      `push source ${pushSource} cannot be pushed to offline: its batch source must read a folder of Parquet files (a path like 'data/${pushSource}/*.parquet')`,
    );
  }
  return dirname(resolvePath(batch.path, ctx));
}

/**
 * Appends a prepared push as one Parquet file to the folder of the views' shared batch source.
 * Returns the file written.
 */
export async function appendOffline(
  conn: DuckDBConnection,
  ctx: PathContext,
  pushSource: string,
  views: readonly FeatureView[],
  push: PreparedPush,
): Promise<string> {
  const { source } = views[0];
  const folder = appendFolder(pushSource, source, ctx);
  const types: Record<string, ColumnType> = { [source.timestampField]: 'timestamp' };
  if (source.createdTimestampField) types[source.createdTimestampField] = 'timestamp';
  for (const v of views) {
    for (const e of v.entities) types[e.joinKey] = e.valueType;
    for (const [f, t] of Object.entries(v.schema)) types[f] = t;
  }
  const columns = Object.keys(types);
  const rows = Array.from({ length: push.n }, (_, i) => {
    const row: Record<string, unknown> = {
      [source.timestampField]: new Date(push.eventMs[i]),
    };
    if (source.createdTimestampField) {
      const created = push.createdMs[i];
      row[source.createdTimestampField] = created === undefined ? null : new Date(created);
    }
    for (const [c, values] of push.columns) row[c] = values[i];
    return row;
  });
  mkdirSync(folder, { recursive: true });
  const out = join(folder, `push-${Date.now()}-${shortId()}.parquet`);
  await tableFromRows(conn, '__keel_push', rows, types, columns);
  try {
    await writeParquet(conn, 'SELECT * FROM __keel_push', out);
  } finally {
    await conn.run('DROP TABLE IF EXISTS __keel_push');
  }
  return out;
}
