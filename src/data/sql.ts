/**
 * @module data/sql
 * The few DuckDB helpers the data layer shares: quoting, a scoped in-memory database, and reading
 * a query's rows with BIGINTs turned into numbers (counts here never pass 2^53).
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

/** Quotes an identifier for DuckDB SQL (`"a ""b"""`). */
export const ident = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** Quotes a string literal for DuckDB SQL. */
export const literal = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/** Runs `work` with a fresh in-memory DuckDB connection, closed afterwards whatever happens. */
export async function withDuckDB<T>(work: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    return await work(conn);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

export type Row = Record<string, unknown>;

/** Runs a query and returns its rows as objects; BIGINT and HUGEINT values become numbers. */
export async function queryRows(conn: DuckDBConnection, sql: string): Promise<Row[]> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJS().map((row) => {
    const out: Row = {};
    for (const [key, value] of Object.entries(row))
      out[key] = typeof value === 'bigint' ? Number(value) : value;
    return out;
  });
}
