/**
 * @module features/online-sqlite
 * The embedded online store: one SQLite table in WAL mode keyed by (view, entity key), the key
 * being Feast's serialized EntityKey as a BLOB. A read is a primary-key lookup per key and view,
 * all views of a request in one read transaction; reads of many keys run in a worker thread with
 * its own read-only connection, one statement per slice of keys. Writes are one
 * transaction of prepared upserts per batch. `PRAGMA user_version` records the layout version,
 * so a file written by an older Keel is refused with the way out instead of read as empty.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { BoundedCache, KeelError, startWorker } from '../core/index.js';
import {
  ONLINE_FORMAT,
  type OnlineRecord,
  type OnlineStore,
  type OnlineStoreOptions,
  type OnlineWriteRow,
  type ViewRead,
} from './online-store.js';
import { type ReadReply, type ReadRow, readOneSql, readSql } from './sqlite-read.js';

const SCHEMA = `CREATE TABLE IF NOT EXISTS keel_online (
  view TEXT NOT NULL,
  entity_key BLOB NOT NULL,
  event_ts INTEGER NOT NULL,
  created_ts INTEGER,
  value TEXT NOT NULL,
  PRIMARY KEY (view, entity_key)
) WITHOUT ROWID`;

// The WHERE clause is the write contract: only a later (or equally late, at least as late created)
// row wins; a missing created timestamp counts as the earliest, as NULLS LAST does offline.
const UPSERT = `INSERT INTO keel_online (view, entity_key, event_ts, created_ts, value) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (view, entity_key) DO UPDATE SET
    event_ts = excluded.event_ts, created_ts = excluded.created_ts, value = excluded.value
  WHERE excluded.event_ts > keel_online.event_ts
     OR (excluded.event_ts = keel_online.event_ts
         AND coalesce(excluded.created_ts, -9223372036854775808)
             >= coalesce(keel_online.created_ts, -9223372036854775808))`;

const DEFAULT_WORKER_THRESHOLD = 512;
/** Keys per query of the reader thread. */
const WORKER_SLICE = 8192;

/** The reader thread, started on the first large read. */
class ReaderThread {
  private readonly worker: Worker;
  private next = 0;
  private readonly waiting = new Map<
    number,
    { resolve: (r: ReadRow[]) => void; reject: (e: Error) => void }
  >();

  constructor(path: string) {
    this.worker = startWorker(import.meta.url, 'sqlite-read-worker', { path });
    // Held open only while a read waits, so an idle reader never keeps a CLI process alive.
    this.worker.unref();
    this.worker.on('message', (reply: ReadReply) => {
      const pending = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) this.worker.unref();
      if ('error' in reply) pending?.reject(new Error(reply.error));
      else pending?.resolve(reply.rows);
    });
    this.worker.on('error', (err) => this.failAll(err));
    this.worker.on('exit', (code) => this.failAll(new Error(`the online store reader exited (${code})`)));
  }

  read(sql: string, view: string, keys: string): Promise<ReadRow[]> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, sql, view, keys });
    });
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }

  private failAll(err: Error): void {
    for (const { reject } of this.waiting.values()) reject(err);
    this.waiting.clear();
    this.worker.unref();
  }
}

class SqliteOnlineStore implements OnlineStore {
  readonly type = 'sqlite' as const;
  private readonly upsert;
  /** Prepared reads by SQL text (one per set of features asked for; bounded). */
  private readonly reads = new BoundedCache<string, Database.Statement<[string, string | Buffer]>>(256);
  private readonly deleteStmt;
  private reader?: ReaderThread;
  /** Runs a function in one read transaction (made once: better-sqlite3 compiles its wrapper). */
  private readonly readTransaction: <T>(read: () => T) => T;
  private readonly dataVersionStmt;
  /** `PRAGMA data_version` as read in this event-loop turn (none: not read yet this turn). */
  private turnVersion?: number;
  private readonly endTurn = () => {
    this.turnVersion = undefined;
  };

  constructor(
    private readonly db: Database.Database,
    private readonly path: string,
    private readonly workerThreshold: number,
  ) {
    this.upsert = db.prepare(UPSERT);
    this.deleteStmt = db.prepare('DELETE FROM keel_online WHERE view = ?');
    this.dataVersionStmt = db.prepare('PRAGMA data_version').pluck();
    const transaction = db.transaction((read: () => unknown) => read());
    this.readTransaction = <T>(read: () => T) => transaction(read) as T;
  }

  async onlineWrite(view: string, rows: readonly OnlineWriteRow[]): Promise<number> {
    return this.db.transaction(() => {
      let written = 0;
      for (const { entityKey, record } of rows) {
        written += this.upsert.run(
          view,
          Buffer.from(entityKey, 'hex'),
          record.eventTs,
          record.createdTs ?? null,
          record.payload,
        ).changes;
      }
      return written;
    })();
  }

  async onlineRead(
    view: string,
    keys: readonly string[],
    features?: readonly string[],
  ): Promise<(OnlineRecord | undefined)[]> {
    if (keys.length === 0) return [];
    if (this.readsInline(keys.length)) return (await this.onlineReadViews([{ view, features }], keys))[0];
    const sql = readSql(features);
    const found = new Map<string, OnlineRecord>();
    // A query per slice of keys: the main thread takes in a few thousand rows per reply, where
    // one reply of every row held the event loop while it was decoded.
    for (let at = 0; at < keys.length; at += WORKER_SLICE) {
      const rows = await this.readInWorker(sql, view, JSON.stringify(keys.slice(at, at + WORKER_SLICE)));
      for (const [key, eventTs, createdTs, payload] of rows)
        found.set(key, { eventTs, createdTs: createdTs ?? undefined, payload });
    }
    return keys.map((k) => found.get(k));
  }

  /**
   * A primary-key lookup per view and key, all in one read transaction (outside one, each lookup
   * takes and releases WAL's read lock, the larger part of its cost): cheaper than one statement
   * over a JSON list of keys (its parse, unhex and hex of every key). Reads too large for the
   * event loop go to the reader thread, a view at a time.
   */
  async onlineReadViews(
    reads: readonly ViewRead[],
    keys: readonly string[],
  ): Promise<(OnlineRecord | undefined)[][]> {
    if (!this.readsInline(keys.length))
      return Promise.all(reads.map(({ view, features }) => this.onlineRead(view, keys, features)));
    const blobs = keys.map((key) => Buffer.from(key, 'hex'));
    const lookups = reads.map(({ view, features }) => {
      const one = this.statement(readOneSql(features));
      return () =>
        blobs.map((blob) => {
          const row = one.get(view, blob) as [number, number | null, string] | undefined;
          return row && { eventTs: row[0], createdTs: row[1] ?? undefined, payload: row[2] };
        });
    });
    if (lookups.length === 1 && blobs.length === 1) return [lookups[0]()];
    return this.readTransaction(() => lookups.map((lookup) => lookup()));
  }

  /**
   * SQLite's data version: it moves when another connection commits, not for this connection's own
   * writes. Read once per event-loop turn: each read takes and releases the file's read lock, the
   * cost a cache in front of this store saves; the requests of one turn share one look.
   */
  dataVersion(): number {
    if (this.turnVersion === undefined) {
      this.turnVersion = this.dataVersionStmt.get() as number;
      setImmediate(this.endTurn);
    }
    return this.turnVersion;
  }

  async deleteView(view: string): Promise<void> {
    this.deleteStmt.run(view);
  }

  async ping(): Promise<void> {
    try {
      this.db.prepare('SELECT 1 FROM keel_online LIMIT 1').get();
    } catch (err) {
      throw new KeelError('TEMPORARILY_UNAVAILABLE', 'the SQLite online store cannot be read', {
        cause: err,
      });
    }
  }

  async close(): Promise<void> {
    await this.reader?.close();
    this.db.close();
  }

  /** Reads of this many keys run on the event loop (the others in the reader thread). */
  private readsInline(keys: number): boolean {
    return keys <= this.workerThreshold || this.workerThreshold <= 0 || this.path === ':memory:';
  }

  private statement(sql: string): Database.Statement<[string, string | Buffer]> {
    return this.reads.getOrMake(sql, () => this.db.prepare<[string, string | Buffer]>(sql).raw(true));
  }

  private async readInWorker(sql: string, view: string, keys: string): Promise<ReadRow[]> {
    try {
      this.reader ??= new ReaderThread(this.path);
      return await this.reader.read(sql, view, keys);
    } catch (err) {
      this.reader = undefined;
      throw new KeelError('TEMPORARILY_UNAVAILABLE', `online store ${this.path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}

/** Creates the layout in an empty file, or refuses a file in another layout. */
function checkLayout(db: Database.Database, path: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  const hasTable = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'keel_online'")
    .get();
  if (version === 0 && hasTable) {
    throw new KeelError(
      'INVALID_STATE',
      `online store ${path} holds records in Keel's first layout (text entity keys), which this version cannot read; delete the file and run keel features materialize again (README: "Upgrading an online store")`,
    );
  }
  if (version !== 0 && version !== ONLINE_FORMAT) {
    throw new KeelError(
      'INVALID_STATE',
      `online store ${path} has layout version ${version}; this Keel reads version ${ONLINE_FORMAT}`,
    );
  }
  if (version === 0) {
    db.exec(SCHEMA);
    db.pragma(`user_version = ${ONLINE_FORMAT}`);
  }
}

/**
 * Opens (creating if needed) the SQLite online store at `config.path`.
 * @throws KeelError TEMPORARILY_UNAVAILABLE when the file cannot be opened; INVALID_STATE when it
 * holds an older layout.
 */
export async function openSqliteOnlineStore(
  config: { path: string },
  options: OnlineStoreOptions = {},
): Promise<OnlineStore> {
  let db: Database.Database;
  try {
    if (config.path !== ':memory:') mkdirSync(dirname(config.path), { recursive: true });
    db = new Database(config.path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // 64 MB of page cache keeps a few million keys' index pages hot for reads and upserts.
    db.pragma('cache_size = -65536');
  } catch (err) {
    throw new KeelError(
      'TEMPORARILY_UNAVAILABLE',
      `online store ${config.path} cannot be opened: ${(err as Error).message}`,
      { cause: err },
    );
  }
  try {
    checkLayout(db, config.path);
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqliteOnlineStore(db, config.path, options.workerReadThreshold ?? DEFAULT_WORKER_THRESHOLD);
}
