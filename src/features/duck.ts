/**
 * @module features/duck
 * DuckDB plumbing for the offline side: a connection, the SQL relation of a source, JS rows into a
 * table (through the appender) and DuckDB values back into plain JS values.
 */
import { isAbsolute, resolve } from 'node:path';
import { type DuckDBAppender, type DuckDBConnection, DuckDBInstance, timestampValue } from '@duckdb/node-api';
import { invalid, KeelError } from '../core/index.js';
import { ident, literal } from '../data/index.js';
import type { FeatureValue, FileSource, Source, ValueType } from './definitions.js';
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

/** A JS value from DuckDB as a feature value: BIGINT becomes a number, others their text. */
export function toJs(value: unknown): FeatureValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
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
    if (type && type !== t) return 'string';
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
    case 'int64': {
      const n = typeof v === 'string' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n))
        throw invalid(`${what} must be an integer, got ${JSON.stringify(v)}`);
      appender.appendBigInt(BigInt(n));
      return;
    }
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
