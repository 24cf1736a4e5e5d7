/**
 * @module monitoring/staged-write
 * One Parquet partition written from tables staged column-major: each table goes into DuckDB
 * through an appender (typed arrays copied into its vectors whole), and a SELECT over them is
 * written as one partition (data/partition: hidden, fsynced, renamed). What a write is made of
 * can be posted to a thread as it is: types by their SQL names, values in arrays.
 */
import {
  BOOLEAN,
  DOUBLE,
  type DuckDBConnection,
  DuckDBDataChunk,
  type DuckDBType,
  type DuckDBValue,
  FLOAT,
  INTEGER,
  VARCHAR,
} from '@duckdb/node-api';
import { writePartition } from '../data/index.js';

export type Cell = number | string | boolean | null;

/** The column types a staged table may have, by SQL name. */
const TYPES = { INTEGER, DOUBLE, FLOAT, VARCHAR, BOOLEAN } satisfies Record<string, DuckDBType>;
export type StagedType = keyof typeof TYPES;

/** One table to stage: its columns' types and values, column-major. */
export interface Staged {
  types: StagedType[];
  columns: Array<ArrayLike<Cell>>;
  rows: number;
}

/** What one Parquet file is written from: staged tables (`__keel_t0`, ...) and the SELECT over them. */
export interface StagedWrite {
  tables: Staged[];
  select: string;
  rows: number;
}

/** DuckDB's vectors hold this many rows; a data chunk cannot hold more. */
const CHUNK_ROWS = 2048;

/** Stages the tables of `write` in DuckDB and writes its SELECT as one Parquet partition under `dir`. */
export async function writeStaged(conn: DuckDBConnection, dir: string, write: StagedWrite): Promise<string> {
  const names = write.tables.map((_, i) => `__keel_t${i}`);
  try {
    for (const [i, table] of write.tables.entries()) {
      const defs = table.types.map((t, j) => `c${j} ${t}`).join(', ');
      await conn.run(`CREATE OR REPLACE TABLE ${names[i]} (${defs})`);
      const types = table.types.map((t) => TYPES[t]);
      const appender = await conn.createAppender(names[i]);
      try {
        for (let start = 0; start < table.rows; start += CHUNK_ROWS) {
          const end = Math.min(table.rows, start + CHUNK_ROWS);
          const chunk = DuckDBDataChunk.create(types, end - start);
          table.columns.forEach((c, j) => {
            fillColumn(chunk, j, c, start, end);
          });
          appender.appendDataChunk(chunk);
        }
      } finally {
        appender.closeSync();
      }
    }
    return await writePartition(conn, dir, write.select, Date.now());
  } finally {
    for (const name of names) await conn.run(`DROP TABLE IF EXISTS ${name}`);
  }
}

/** What DuckDB's numeric vectors hold: their values in a typed array, copied in by `flush`. */
type TypedVector = { items?: unknown; flush(): void };
type Typed = Float32Array | Float64Array | Int32Array;

/**
 * Rows `start` to `end` of `column` into column `j` of `chunk`. A typed array whose type is the
 * vector's is copied in one `set` (every value valid: NaN is made NULL by the SELECT); other
 * columns go value by value.
 */
function fillColumn(
  chunk: DuckDBDataChunk,
  j: number,
  column: ArrayLike<Cell>,
  start: number,
  end: number,
): void {
  if (ArrayBuffer.isView(column)) {
    const typed = (column as Typed).subarray(start, end);
    const vector = chunk.getColumnVector(j) as unknown as TypedVector;
    const items = vector.items;
    if (items instanceof typed.constructor && (items as Typed).length === typed.length) {
      (items as Typed).set(typed);
      vector.flush();
      return;
    }
    chunk.setColumnValues(j, typed as unknown as DuckDBValue[]);
    return;
  }
  chunk.setColumnValues(j, (column as Cell[]).slice(start, end));
}
