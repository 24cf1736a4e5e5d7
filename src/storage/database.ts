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

/** Column types a bulk insert names, so PostgreSQL can type its arrays. */
export type ColumnType = 'text' | 'integer' | 'bigint' | 'double';

/** Many rows into one table, in one statement where the backend can. */
export interface BulkInsert {
  table: string;
  /** Column names and types, in the order of each row's values. */
  columns: ReadonlyArray<readonly [name: string, type: ColumnType]>;
  rows: ReadonlyArray<readonly SqlValue[]>;
  /**
   * Portable text appended after the rows: `ON CONFLICT (...) DO UPDATE SET ... WHERE ...` (use
   * `excluded.` for the new row) or `ON CONFLICT DO NOTHING`. Rows must not repeat a conflict key.
   */
  onConflict?: string;
}

/** How a row-locking SELECT locks: `share` lets other sharers in, `update` waits for them all. */
export type RowLock = 'share' | 'update';

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
  /** Inserts every row atomically: one array-valued statement on PostgreSQL, one prepared statement on SQLite. */
  insertMany(insert: BulkInsert): Promise<RunResult>;
  /**
   * The clause that makes a SELECT lock the rows it reads until the transaction ends
   * (` FOR SHARE`, ` FOR UPDATE`), or '' where a transaction already locks the whole database.
   */
  lockClause(mode: RowLock): string;
}

/**
 * How a transaction stays correct beside the others.
 * - `exclusive` (the default): no other transaction runs while it does, so read-modify-write
 *   inside it is safe without any lock.
 * - `rows`: runs beside other `rows` transactions (never beside an exclusive one). It takes the
 *   row locks its read-modify-write needs (`lockClause`), writes with upserts, and, on PostgreSQL,
 *   is run again after a deadlock or serialization failure (a few times at most), so `fn` must
 *   change nothing but the database through `tx`.
 */
export type TransactionScope = 'exclusive' | 'rows';

export interface SqlDatabase extends SqlExecutor {
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws.
   * SQLite runs every transaction alone (BEGIN IMMEDIATE, across processes too). PostgreSQL takes
   * a transaction-level advisory lock for its schema: exclusive for `exclusive` transactions,
   * shared for `rows` ones. Inside `fn`, use only `tx`: a statement on the database itself waits
   * for the transaction.
   * @throws TEMPORARILY_UNAVAILABLE when a `rows` transaction keeps deadlocking.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: { scope?: TransactionScope }): Promise<T>;
  close(): Promise<void>;
}

/**
 * One rule for text on both backends: a string parameter holding a NUL byte is refused (PostgreSQL
 * cannot store it; SQLite would). Requests are checked with the field's name before they get here
 * (core/validate); this catches library callers.
 * @throws KeelError INVALID_PARAMETER_VALUE
 */
export function refuseNulParams(params: readonly unknown[]): void {
  for (const p of params) {
    // insertMany passes a column's values as one array parameter.
    if (Array.isArray(p)) refuseNulParams(p);
    else if (typeof p === 'string' && p.includes('\0'))
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
