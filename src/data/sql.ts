/**
 * @module data/sql
 * The few DuckDB helpers the data layer shares: quoting, a scoped in-memory database, and reading
 * a query's rows with BIGINTs turned into numbers (counts here never pass 2^53), and a streamed
 * result's chunks with the next one fetched while the caller works on the current one.
 */
import type { DuckDBConnection, DuckDBDataChunk, DuckDBResult } from '@duckdb/node-api';
import { loadDuckDB } from './duckdb-module.js';

/** Quotes an identifier for DuckDB SQL (`"a ""b"""`). */
export const ident = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** Quotes a string literal for DuckDB SQL. */
export const literal = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/** Runs `work` with a fresh in-memory DuckDB connection, closed afterwards whatever happens. */
export async function withDuckDB<T>(work: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const { DuckDBInstance } = await loadDuckDB();
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

/**
 * The non-empty chunks of a (streamed) result. The next chunk is requested before the current one
 * is handed out, so DuckDB computes it on its own threads while the caller counts this one: each
 * fetch is a round trip to the thread pool, and awaiting them one after the other left both
 * sides idle in turn.
 */
export async function* prefetchedChunks(result: DuckDBResult): AsyncGenerator<DuckDBDataChunk> {
  let next = result.fetchChunk();
  try {
    for (;;) {
      const chunk = await next;
      if (!chunk || chunk.rowCount === 0) return;
      next = result.fetchChunk();
      yield chunk;
    }
  } finally {
    // A caller that stops early leaves a fetch in flight: its failure is nobody's to report.
    next.catch(() => undefined);
  }
}
