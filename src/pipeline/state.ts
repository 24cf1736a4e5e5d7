/**
 * @module pipeline/state
 * The stat cache: a SQLite table mapping (inode, mtime, size) to a file's md5, as DVC's
 * `.dvc/tmp/md5s` does, so a file that has not changed since it was last hashed is never read again.
 * New entries are buffered and written in one transaction by `flush()`.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { KeelError } from '../core/index.js';

/** The facts of a `stat` that decide whether a stored hash still holds. */
export interface StatKey {
  ino: number;
  mtimeMs: number;
  size: number;
}

export class StatCache {
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement<[number, number, number], { md5: string }>;
  private readonly putStmt: Database.Statement<[number, number, number, string]>;
  private pending: Array<[number, number, number, string]> = [];

  /**
   * Opens (or creates) the stat cache at `path`.
   * @throws KeelError INVALID_STATE when the file is not a usable SQLite database.
   */
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    try {
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(
        'CREATE TABLE IF NOT EXISTS md5s (inode INTEGER PRIMARY KEY, mtime REAL NOT NULL, size INTEGER NOT NULL, md5 TEXT NOT NULL)',
      );
    } catch (err) {
      throw new KeelError('INVALID_STATE', `Stat cache ${path} cannot be opened: ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.getStmt = this.db.prepare('SELECT md5 FROM md5s WHERE inode = ? AND mtime = ? AND size = ?');
    this.putStmt = this.db.prepare(
      'INSERT INTO md5s (inode, mtime, size, md5) VALUES (?, ?, ?, ?) ON CONFLICT(inode) DO UPDATE SET mtime = excluded.mtime, size = excluded.size, md5 = excluded.md5',
    );
  }

  /** The stored md5 of a file whose stat still matches, or undefined. */
  get(key: StatKey): string | undefined {
    return this.getStmt.get(key.ino, key.mtimeMs, key.size)?.md5;
  }

  /** Remembers a hash; written on the next `flush()`. */
  set(key: StatKey, md5: string): void {
    this.pending.push([key.ino, key.mtimeMs, key.size, md5]);
  }

  /** Writes buffered entries in one transaction. */
  flush(): void {
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    this.db.transaction(() => {
      for (const row of rows) this.putStmt.run(...row);
    })();
  }

  close(): void {
    this.flush();
    this.db.close();
  }
}
