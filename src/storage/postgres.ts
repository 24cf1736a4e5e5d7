/**
 * @module storage/postgres
 * node-postgres adapter: a pool, `?` placeholders rewritten to `$n`, BIGINT parsed as a number
 * (timestamps in ms and steps fit in 2^53), bulk inserts as one statement over arrays, and driver
 * errors translated to KeelErrors.
 *
 * Transactions run at READ COMMITTED under one advisory lock per schema: exclusive transactions
 * take it exclusively (nothing else runs beside them), `rows` transactions share it and guard
 * their read-modify-write with row locks; a deadlock or serialization failure runs them again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { KeelError } from '../core/index.js';
import {
  type BulkInsert,
  type ColumnType,
  type RowLock,
  type RunResult,
  refuseNulParams,
  type SqlDatabase,
  type SqlExecutor,
  type SqlValue,
  type TransactionScope,
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

/**
 * Advisory lock every Keel transaction takes, exclusively or shared (see the module comment), keyed
 * by this id and the schema's name: deployments in schemas of one database never wait for each
 * other, and a hash collision between two schemas only makes them take turns. (With no schema
 * on the search path the name is '', not NULL, on which the lock function would take nothing.)
 */
const WRITE_LOCK_KEY = 727_465_000;

/** SQLSTATEs after which a whole transaction may simply run again. */
const RETRYABLE = new Set(['40001', '40P01']);
/** Runs of a `rows` transaction before its deadlock is reported. */
export const MAX_TRANSACTION_ATTEMPTS = 5;

const ARRAY_TYPES: Record<ColumnType, string> = {
  text: 'text[]',
  integer: 'int4[]',
  bigint: 'int8[]',
  double: 'float8[]',
};

/** Whether a failed transaction can be run again: the database rolled it back to break a cycle. */
export function isRetryable(err: unknown): boolean {
  const cause = err instanceof KeelError ? err.cause : err;
  return RETRYABLE.has((cause as { code?: string } | undefined)?.code ?? '');
}

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
  /** `INSERT ... SELECT * FROM unnest($1::text[], ...)`: one statement and one parameter per column. */
  async insertMany({ table, columns, rows, onConflict }: BulkInsert): Promise<RunResult> {
    if (rows.length === 0) return { changes: 0 };
    const names = columns.map(([name]) => name).join(', ');
    const arrays = columns.map(([, type]) => `?::${ARRAY_TYPES[type]}`).join(', ');
    return this.run(
      `INSERT INTO ${table} (${names}) SELECT * FROM unnest(${arrays}) ${onConflict ?? ''}`,
      columns.map((_, c) => rows.map((row) => row[c]) as unknown as SqlValue),
    );
  }
  lockClause(mode: RowLock): string {
    return mode === 'update' ? ' FOR UPDATE' : ' FOR SHARE';
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

  async transaction<T>(
    fn: (tx: SqlExecutor) => Promise<T>,
    options: { scope?: TransactionScope } = {},
  ): Promise<T> {
    const scope = options.scope ?? 'exclusive';
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(fn, scope);
      } catch (err) {
        // Exclusive transactions never meet another transaction's row locks, so only `rows`
        // transactions deadlock; their `fn` promises to be safe to run again.
        if (scope !== 'rows' || !isRetryable(err) || attempt >= MAX_TRANSACTION_ATTEMPTS) throw err;
        // Jittered, growing pauses so the transactions that collided do not collide again.
        await sleep(Math.random() * 10 * 2 ** attempt);
      }
    }
  }

  private async once<T>(fn: (tx: SqlExecutor) => Promise<T>, scope: TransactionScope): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw translatePgError(err, 'connect');
    }
    try {
      // One round trip: BEGIN and the lock as one simple query.
      const lock = scope === 'rows' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
      await client.query(
        `BEGIN; SELECT ${lock}(${WRITE_LOCK_KEY}, hashtext(coalesce(current_schema(), '')))`,
      );
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
