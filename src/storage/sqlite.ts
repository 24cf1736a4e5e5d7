/**
 * @module storage/sqlite
 * better-sqlite3 adapter: WAL, a busy timeout so concurrent processes wait rather than fail, and
 * case-sensitive LIKE (PostgreSQL's behaviour; ILIKE is written as LOWER() LIKE LOWER()).
 * `synchronous` is FULL unless the caller trades durability for speed (see `sqliteSynchronous`).
 *
 * better-sqlite3 is synchronous, so an async transaction could let other callers' statements run
 * inside it while it awaits. Every statement outside a transaction therefore waits for the open
 * transaction to finish: one queue per connection.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { KeelError, type SqliteSynchronous } from '../core/index.js';
import {
  type BulkInsert,
  type RunResult,
  refuseNulParams,
  type SqlDatabase,
  type SqlExecutor,
  type SqlValue,
  type TransactionScope,
} from './database.js';

type Db = Database.Database;

function wrap<T>(sql: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw translateSqliteError(err, sql);
  }
}

export function translateSqliteError(err: unknown, sql: string): KeelError {
  const code = (err as { code?: string }).code ?? '';
  const message = (err as Error).message;
  if (code.startsWith('SQLITE_CONSTRAINT_PRIMARYKEY') || code.startsWith('SQLITE_CONSTRAINT_UNIQUE')) {
    return new KeelError('RESOURCE_ALREADY_EXISTS', message, { cause: err });
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new KeelError('TEMPORARILY_UNAVAILABLE', 'The metadata database is busy: retry', { cause: err });
  }
  return new KeelError('INTERNAL_ERROR', `SQLite: ${message} (in: ${sql.slice(0, 120)})`, { cause: err });
}

class SqliteExecutor implements SqlExecutor {
  readonly dialect = 'sqlite' as const;
  constructor(protected readonly db: Db) {}

  private stmt(sql: string) {
    return this.db.prepare(sql);
  }
  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    refuseNulParams(params);
    return wrap(sql, () => this.stmt(sql).all(...params) as T[]);
  }
  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    refuseNulParams(params);
    return wrap(sql, () => this.stmt(sql).get(...params) as T | undefined);
  }
  async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    refuseNulParams(params);
    return wrap(sql, () => ({ changes: this.stmt(sql).run(...params).changes }));
  }
  async exec(sql: string): Promise<void> {
    wrap(sql, () => this.db.exec(sql));
  }
  /** One prepared single-row statement run per row, inside a savepoint so the rows land together. */
  async insertMany({ table, columns, rows, onConflict }: BulkInsert): Promise<RunResult> {
    if (rows.length === 0) return { changes: 0 };
    for (const row of rows) refuseNulParams(row);
    const sql = `INSERT INTO ${table} (${columns.map(([name]) => name).join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ${onConflict ?? ''}`;
    return wrap(sql, () => {
      const stmt = this.db.prepare(sql);
      let changes = 0;
      this.db.transaction(() => {
        for (const row of rows) changes += stmt.run(...row).changes;
      })();
      return { changes };
    });
  }
  /** A SQLite transaction already holds the database's write lock: no row locks to add. */
  lockClause(): string {
    return '';
  }
}

export class SqliteDatabase extends SqliteExecutor implements SqlDatabase {
  private queue: Promise<unknown> = Promise.resolve();
  private inTransaction = false;

  constructor(
    readonly path: string,
    synchronous: SqliteSynchronous = 'full',
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 10000');
    db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    db.pragma('case_sensitive_like = ON');
    super(db);
  }

  private waitTurn<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.inTransaction) return fn();
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => {});
    return next;
  }

  override all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.waitTurn(() => super.all<T>(sql, params));
  }
  override get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.waitTurn(() => super.get<T>(sql, params));
  }
  override run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return this.waitTurn(() => super.run(sql, params));
  }
  override exec(sql: string): Promise<void> {
    return this.waitTurn(() => super.exec(sql));
  }
  override insertMany(insert: BulkInsert): Promise<RunResult> {
    return this.waitTurn(() => super.insertMany(insert));
  }

  /** Every transaction runs alone, whatever its scope: BEGIN IMMEDIATE takes the write lock up front. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, _options?: { scope?: TransactionScope }): Promise<T> {
    const body = async () => {
      this.inTransaction = true;
      const tx = new SqliteExecutor(this.db);
      wrap('BEGIN IMMEDIATE', () => this.db.exec('BEGIN IMMEDIATE'));
      try {
        const result = await fn(tx);
        wrap('COMMIT', () => this.db.exec('COMMIT'));
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      } finally {
        this.inTransaction = false;
      }
    };
    // Transactions queue behind each other; plain statements queue behind an open transaction.
    const next = this.queue.then(body, body);
    this.queue = next.catch(() => {});
    return next;
  }

  async close(): Promise<void> {
    await this.queue;
    this.db.close();
  }
}
