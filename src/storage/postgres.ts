/**
 * @module storage/postgres
 * node-postgres adapter: a pool, `?` placeholders rewritten to `$n`, BIGINT parsed as a number
 * (timestamps in ms and steps fit in 2^53), and driver errors translated to KeelErrors.
 */
import pg from 'pg';
import { KeelError } from '../core/index.js';
import {
  type RunResult,
  refuseNulParams,
  type SqlDatabase,
  type SqlExecutor,
  type SqlValue,
} from './database.js';

// int8 (BIGINT, COUNT(*)) and numeric come back as strings by default.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

/** Rewrites `?` placeholders to `$1, $2, ...`. Keel's SQL never has a literal `?` in a string. */
export function toPgPlaceholders(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

/** Node's codes for a server that cannot be reached or dropped the connection. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ECONNRESET',
]);

/**
 * A driver error as a KeelError. Messages a client may see (the 4xx and 503 ones) name neither the
 * driver's text nor the server's address: those stay in `cause`, which the server logs.
 */
export function translatePgError(err: unknown, sql: string): KeelError {
  const code = (err as { code?: string }).code ?? '';
  const message = (err as Error).message;
  if (code === '23505') return new KeelError('RESOURCE_ALREADY_EXISTS', message, { cause: err });
  if (code === '40001' || code === '40P01' || code === '57P03') {
    return new KeelError('TEMPORARILY_UNAVAILABLE', 'The metadata database is busy: retry', { cause: err });
  }
  if (
    UNREACHABLE.has(code) ||
    code.startsWith('08') ||
    code === '57P01' ||
    /^Connection terminated/.test(message)
  ) {
    return new KeelError(
      'TEMPORARILY_UNAVAILABLE',
      'The metadata database (PostgreSQL) is unreachable: retry later',
      {
        cause: err,
      },
    );
  }
  // Class 22, data exceptions: a value the column cannot hold. Inputs are checked before they get
  // here; this keeps one that slipped through a client error.
  if (code.startsWith('22')) {
    return new KeelError(
      'INVALID_PARAMETER_VALUE',
      `A value does not fit its database column (SQLSTATE ${code})`,
      {
        cause: err,
      },
    );
  }
  return new KeelError('INTERNAL_ERROR', `PostgreSQL: ${message} (in: ${sql.slice(0, 120)})`, { cause: err });
}

/** Advisory lock id taken by every Keel transaction. */
const WRITE_LOCK_KEY = 727_465_000;

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

class PgExecutor implements SqlExecutor {
  readonly dialect = 'postgres' as const;
  constructor(protected readonly conn: Queryable) {}

  protected async query(sql: string, params: readonly SqlValue[]): Promise<pg.QueryResult> {
    refuseNulParams(params);
    try {
      return await this.conn.query(toPgPlaceholders(sql), params as unknown[]);
    } catch (err) {
      throw translatePgError(err, sql);
    }
  }
  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await this.query(sql, params)).rows as T[];
  }
  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.query(sql, params)).rows[0] as T | undefined;
  }
  async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    return { changes: (await this.query(sql, params)).rowCount ?? 0 };
  }
  async exec(sql: string): Promise<void> {
    await this.query(sql, []);
  }
}

export class PostgresDatabase extends PgExecutor implements SqlDatabase {
  private readonly pool: pg.Pool;

  constructor(readonly url: string) {
    const pool = new pg.Pool({ connectionString: url, max: 8 });
    // An idle client's error (the server restarted) must not crash the process.
    pool.on('error', () => {});
    super(pool);
    this.pool = pool;
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw translatePgError(err, 'connect');
    }
    try {
      await client.query('BEGIN');
      // Serialize writers across every process on this database, as SQLite's BEGIN IMMEDIATE
      // does, so read-modify-write inside a transaction is safe (READ COMMITTED alone is not).
      await client.query(`SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);
      const result = await fn(new PgExecutor(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err instanceof KeelError ? err : translatePgError(err, 'transaction');
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
