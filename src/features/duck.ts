/**
 * @module features/duck
 * DuckDB plumbing for the offline side: a connection, the SQL relation of a source, JS rows into a
 * table (through the appender) and DuckDB values back into plain JS values.
 */
import { renameSync, rmSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import {
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBInstance,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  timestampValue,
} from '@duckdb/node-api';
import { fsyncFile, invalid, KeelError, shortId } from '../core/index.js';
import { ident, literal } from '../data/index.js';
import type { FeatureValue, FileSource, Source, ValueType } from './definitions.js';
import { int64Out, toInt64 } from './keys.js';
import { toEpochMs } from './time.js';

/** Where relative source paths and `{home}` point. */
export interface PathContext {
  root: string;
  home: string;
}

export const SQL_TYPES: Record<ValueType, string> = {
  int64: 'BIGINT',
  float64: 'DOUBLE',
  string: 'VARCHAR',
  bool: 'BOOLEAN',
};

/** Opens an in-memory DuckDB connection with timestamps read as UTC. */
export async function openDuck(threads?: number): Promise<DuckDBConnection> {
  const options: Record<string, string> = threads ? { threads: String(threads) } : {};
  const instance = await DuckDBInstance.create(':memory:', options);
  const conn = await instance.connect();
  await conn.run("SET TimeZone = 'UTC'").catch(() => undefined);
  return conn;
}

export function resolvePath(path: string, ctx: PathContext): string {
  const p = path.replaceAll('{home}', ctx.home);
  return isAbsolute(p) ? p : resolve(ctx.root, p);
}

/** A table function call that reads a file source. */
export function fileRelation(source: Pick<FileSource, 'path' | 'format'>, ctx: PathContext): string {
  const path = literal(resolvePath(source.path, ctx));
  return source.format === 'parquet'
    ? `read_parquet(${path}, union_by_name = true)`
    : `read_csv(${path}, header = true)`;
}

/** A parenthesised query that yields the source's rows. */
export function sourceRelation(source: Source, ctx: PathContext): string {
  if (source.kind === 'file') return `(SELECT * FROM ${fileRelation(source, ctx)})`;
  const inputs = Object.entries(source.inputs)
    .map(([name, input]) => `${ident(name)} AS (SELECT * FROM ${fileRelation(input, ctx)})`)
    .join(', ');
  return `(WITH ${inputs} SELECT * FROM (${source.sql}))`;
}

/**
 * A JS value from DuckDB as a feature value: BIGINT becomes a number when exact and stays a BigInt
 * beyond 2^53, timestamps become ISO-8601 (UTC, ms), others their text.
 */
export function toJs(value: unknown): FeatureValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return int64Out(value);
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  if (value instanceof DuckDBTimestampValue || value instanceof DuckDBTimestampTZValue) {
    return new Date(Number(value.micros / 1000n)).toISOString();
  }
  return String(value);
}

export type ColumnType = ValueType | 'timestamp';

function inferType(rows: readonly Record<string, unknown>[], column: string): ColumnType {
  let type: ColumnType | undefined;
  for (const row of rows) {
    const v = row[column];
    if (v === null || v === undefined) continue;
    const t: ColumnType =
      v instanceof Date
        ? 'timestamp'
        : typeof v === 'number'
          ? 'float64'
          : typeof v === 'boolean'
            ? 'bool'
            : 'string';
    if (type && type !== t) {
      // Integers given partly as BigInts (beyond 2^53) are one int64 column.
      const numeric = new Set([type, t]);
      if (numeric.size === 2 && numeric.has('int64') && numeric.has('float64')) {
        type = 'int64';
        continue;
      }
      return 'string';
    }
    type = t;
  }
  return type ?? 'string';
}

function appendValue(appender: DuckDBAppender, type: ColumnType, v: unknown, what: string): void {
  if (v === null || v === undefined) {
    appender.appendNull();
    return;
  }
  switch (type) {
    case 'timestamp':
      appender.appendTimestamp(timestampValue(BigInt(Math.round(toEpochMs(v, what))) * 1000n));
      return;
    case 'int64':
      appender.appendBigInt(toInt64(v, what));
      return;
    case 'float64':
      if (typeof v !== 'number') throw invalid(`${what} must be a number, got ${JSON.stringify(v)}`);
      appender.appendDouble(v);
      return;
    case 'bool':
      if (typeof v !== 'boolean') throw invalid(`${what} must be a boolean, got ${JSON.stringify(v)}`);
      appender.appendBoolean(v);
      return;
    default:
      appender.appendVarchar(String(v));
      return;
  }
}

/**
 * Creates a temporary table from JS rows. Declared columns get their type; others are inferred
 * (numbers as DOUBLE, booleans, Dates as TIMESTAMP, anything else as text).
 * @throws KeelError INVALID_PARAMETER_VALUE for a value that does not fit its column's type.
 */
export async function tableFromRows(
  conn: DuckDBConnection,
  table: string,
  rows: readonly Record<string, unknown>[],
  declared: Record<string, ColumnType>,
  columns: string[] = [...new Set(rows.flatMap((r) => Object.keys(r)))],
): Promise<void> {
  const types = columns.map((c) => declared[c] ?? inferType(rows, c));
  const sqlType = (t: ColumnType) => (t === 'timestamp' ? 'TIMESTAMP' : SQL_TYPES[t]);
  await conn.run(
    `CREATE OR REPLACE TEMP TABLE ${ident(table)} (${columns.map((c, i) => `${ident(c)} ${sqlType(types[i])}`).join(', ')})`,
  );
  const appender = await conn.createAppender(table, 'main', 'temp');
  try {
    for (const [r, row] of rows.entries()) {
      for (const [i, c] of columns.entries()) appendValue(appender, types[i], row[c], `row ${r} column ${c}`);
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/** Runs DuckDB SQL, naming the work in the error when it fails. */
export async function runSql(conn: DuckDBConnection, sql: string, what: string) {
  try {
    return await conn.runAndReadAll(sql);
  } catch (err) {
    throw wrapDuckError(err, what);
  }
}

export function wrapDuckError(err: unknown, what: string): KeelError {
  if (err instanceof KeelError) return err;
  return new KeelError('INVALID_PARAMETER_VALUE', `${what} failed in DuckDB: ${(err as Error).message}`, {
    cause: err,
  });
}

/**
 * Writes a query's result to Parquet atomically: a hidden temporary file beside `out` (no glob of
 * `*.parquet` sees it), fsynced, then renamed into place. Returns the row count.
 */
export async function writeParquet(conn: DuckDBConnection, query: string, out: string): Promise<number> {
  const tmp = join(dirname(out), `.${basename(out)}.${shortId()}.tmp`);
  try {
    const result = await runSql(
      conn,
      `COPY (${query}) TO ${literal(tmp)} (FORMAT parquet)`,
      `writing ${out}`,
    );
    fsyncFile(tmp);
    renameSync(tmp, out);
    return Number(result.rowsChanged);
  } finally {
    rmSync(tmp, { force: true });
  }
}
