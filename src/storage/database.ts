/**
 * @module storage/database
 * The one interface every metadata store talks to. SQL is written once, portably, with `?`
 * placeholders; each adapter (SQLite, PostgreSQL) only runs it and keeps its dialect's quirks
 * to itself (placeholder style, integer parsing, locking).
 */

import { KeelError } from '../core/index.js';

export type Dialect = 'sqlite' | 'postgres';

export type SqlValue = string | number | bigint | null | Uint8Array;

export interface RunResult {
  /** Rows inserted, updated or deleted. */
  changes: number;
}

/** A connection (or a transaction on one). Every method is async, whatever the driver. */
export interface SqlExecutor {
  readonly dialect: Dialect;
  /** Runs a query and returns its rows as objects keyed by column name. BIGINTs come back as numbers. */
  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** The first row, or undefined. */
  get<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Runs a statement that returns no rows. */
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
  /** Runs several statements separated by semicolons, without parameters (DDL). */
  exec(sql: string): Promise<void>;
}

export interface SqlDatabase extends SqlExecutor {
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws.
   * Transactions are serialized across every process on the database (SQLite: BEGIN IMMEDIATE;
   * PostgreSQL: a transaction-level advisory lock), so read-modify-write inside `fn` is safe.
   * Inside `fn`, use only `tx`: a statement on the database itself waits for the transaction.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * One rule for text on both backends: a string parameter holding a NUL byte is refused (PostgreSQL
 * cannot store it; SQLite would). Requests are checked with the field's name before they get here
 * (core/validate); this catches library callers.
 * @throws KeelError INVALID_PARAMETER_VALUE
 */
export function refuseNulParams(params: readonly SqlValue[]): void {
  for (const p of params) {
    if (typeof p === 'string' && p.includes('\0'))
      throw new KeelError('INVALID_PARAMETER_VALUE', 'Text values must not contain NUL bytes (\\u0000)');
  }
}

/** Column types that differ between dialects, used in migrations as `{{name}}`. */
export const DDL_TYPES: Record<Dialect, Record<string, string>> = {
  sqlite: { id: 'INTEGER PRIMARY KEY AUTOINCREMENT', bigint: 'INTEGER', double: 'REAL', blob: 'BLOB' },
  postgres: { id: 'BIGSERIAL PRIMARY KEY', bigint: 'BIGINT', double: 'DOUBLE PRECISION', blob: 'BYTEA' },
};

/** Fills `{{id}}`, `{{bigint}}`, `{{double}}` and `{{blob}}` for a dialect. */
export function renderDdl(sql: string, dialect: Dialect): string {
  return sql.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const type = DDL_TYPES[dialect][name];
    if (!type) throw new Error(`unknown DDL placeholder {{${name}}}`);
    return type;
  });
}

/** `(?, ?, ?)` for n values. */
export const placeholders = (n: number): string => `(${new Array(n).fill('?').join(', ')})`;
