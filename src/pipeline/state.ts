/**
 * @module pipeline/state
 * The stat cache: a SQLite table mapping (inode, mtime, size) to a file's md5, as DVC's
 * `.dvc/tmp/md5s` does, so a file that has not changed since it was last hashed is never read again.
 * New entries are buffered and written in one transaction by `flush()`. Folders get a second
 * table keyed on a fingerprint of all their files' paths and stats, so an unchanged folder of
 * 10,000 files costs 10,000 `stat`s and one lookup, not 10,000 lookups and a manifest.
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

/** A folder's hash and sizes, as the stat cache keeps them. */
export interface DirState {
  md5: string;
  size: number;
  nfiles: number;
}

export class StatCache {
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement<[number, number, number], { md5: string }>;
  private readonly putStmt: Database.Statement<[number, number, number, string]>;
  private readonly getDirStmt: Database.Statement<[string, string], DirState>;
  private readonly putDirStmt: Database.Statement<[string, string, string, number, number]>;
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
        'CREATE TABLE IF NOT EXISTS md5s (inode INTEGER PRIMARY KEY, mtime REAL NOT NULL, size INTEGER NOT NULL, md5 TEXT NOT NULL);' +
          'CREATE TABLE IF NOT EXISTS dirs (path TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, md5 TEXT NOT NULL, size INTEGER NOT NULL, nfiles INTEGER NOT NULL)',
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
    this.getDirStmt = this.db.prepare(
      'SELECT md5, size, nfiles FROM dirs WHERE path = ? AND fingerprint = ?',
    );
    this.putDirStmt = this.db.prepare(
      'INSERT INTO dirs (path, fingerprint, md5, size, nfiles) VALUES (?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET fingerprint = excluded.fingerprint, md5 = excluded.md5, size = excluded.size, nfiles = excluded.nfiles',
    );
  }

  /** A folder's stored hash, when its fingerprint (every file's path and stat) still matches. */
  getDir(path: string, fingerprint: string): DirState | undefined {
    return this.getDirStmt.get(path, fingerprint);
  }

  /** Remembers a folder's hash under its fingerprint (written at once). */
  setDir(path: string, fingerprint: string, state: DirState): void {
    this.putDirStmt.run(path, fingerprint, state.md5, state.size, state.nfiles);
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
