/**
 * @module features/online-sqlite
 * The embedded online store: one SQLite table in WAL mode, keyed by (entity key, view). Reads are
 * one indexed lookup per entity; writes are one transaction per batch.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { KeelError } from '../core/index.js';
import type {
  OnlineReadRequest,
  OnlineRecord,
  OnlineStore,
  OnlineStoreOptions,
  OnlineWriteRow,
} from './online-store.js';

interface Row {
  view: string;
  event_ts: number;
  created_ts: number | null;
  value: string;
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS keel_online (
  entity_key TEXT NOT NULL,
  view TEXT NOT NULL,
  event_ts INTEGER NOT NULL,
  created_ts INTEGER,
  value TEXT NOT NULL,
  PRIMARY KEY (entity_key, view)
) WITHOUT ROWID`;

// The WHERE clause is the write contract: only a later (or equally late, later-created) row wins.
const UPSERT = `INSERT INTO keel_online (entity_key, view, event_ts, created_ts, value) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (entity_key, view) DO UPDATE SET
    event_ts = excluded.event_ts, created_ts = excluded.created_ts, value = excluded.value
  WHERE excluded.event_ts > keel_online.event_ts
     OR (excluded.event_ts = keel_online.event_ts
         AND coalesce(excluded.created_ts, 0) >= coalesce(keel_online.created_ts, 0))`;

class SqliteOnlineStore implements OnlineStore {
  readonly type = 'sqlite' as const;
  private readonly upsert;
  private readonly selectEntity;
  private readonly deleteStmt;

  constructor(private readonly db: Database.Database) {
    this.upsert = db.prepare(UPSERT);
    this.selectEntity = db.prepare<[string], Row>(
      'SELECT view, event_ts, created_ts, value FROM keel_online WHERE entity_key = ?',
    );
    this.deleteStmt = db.prepare('DELETE FROM keel_online WHERE view = ?');
  }

  async onlineWrite(view: string, rows: readonly OnlineWriteRow[]): Promise<void> {
    this.db.transaction(() => {
      for (const { entityKey, record } of rows) {
        this.upsert.run(
          entityKey,
          view,
          record.eventTs,
          record.createdTs ?? null,
          JSON.stringify(record.values),
        );
      }
    })();
  }

  async onlineRead(requests: readonly OnlineReadRequest[]): Promise<(OnlineRecord | undefined)[][]> {
    return requests.map(({ entityKey, views }) => {
      const found = this.selectEntity.all(entityKey);
      return views.map((view) => {
        const row = found.find((r) => r.view === view);
        if (!row) return undefined;
        return {
          eventTs: row.event_ts,
          createdTs: row.created_ts ?? undefined,
          values: JSON.parse(row.value),
        };
      });
    });
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
    this.db.close();
  }
}

/**
 * Opens (creating if needed) the SQLite online store at `config.path`.
 * @throws KeelError TEMPORARILY_UNAVAILABLE when the file cannot be opened.
 */
export async function openSqliteOnlineStore(
  config: { path: string },
  _options: OnlineStoreOptions = {},
): Promise<OnlineStore> {
  try {
    if (config.path !== ':memory:') mkdirSync(dirname(config.path), { recursive: true });
    const db = new Database(config.path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // 64 MB of page cache keeps a few million keys' index pages hot for reads and upserts.
    db.pragma('cache_size = -65536');
    db.exec(SCHEMA);
    return new SqliteOnlineStore(db);
  } catch (err) {
    throw new KeelError(
      'TEMPORARILY_UNAVAILABLE',
      `online store ${config.path} cannot be opened: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}
