/**
 * @module pipeline/state
 * The stat cache: a SQLite table mapping (inode, mtime, size) and a hash name (`md5`, or DVC 2's
 * `md5-dos2unix`) to a file's hash, as DVC's `.dvc/tmp/md5s` does, so a file that has not changed
 * since it was last hashed is never read again; cache objects are entered too, which makes
 * verifying them cheap. New entries are buffered and written in one transaction by `flush()`.
 * Folders get a second table keyed on a fingerprint of all their files' paths and stats, so an
 * unchanged folder of 10,000 files costs 10,000 `stat`s and one lookup.
 */
import { mkdirSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { KeelError } from '../core/index.js';

/** DVC 3's hash, or DVC 2's (text files hashed with CRLF turned into LF). */
export type HashName = 'md5' | 'md5-dos2unix';

/** The facts of a `stat` that decide whether a stored hash still holds. */
export interface StatKey {
  ino: number;
  mtimeMs: number;
  size: number;
}

export const statKey = (st: Stats): StatKey => ({ ino: st.ino, mtimeMs: st.mtimeMs, size: st.size });

/** A folder's hash and sizes, as the stat cache keeps them. */
export interface DirState {
  md5: string;
  size: number;
  nfiles: number;
}

type Row = [number, string, number, number, string];

export class StatCache {
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement<[number, string, number, number], { md5: string }>;
  private readonly putStmt: Database.Statement<Row>;
  private readonly getDirStmt: Database.Statement<[string, string, string], DirState>;
  private readonly putDirStmt: Database.Statement<[string, string, string, string, number, number]>;
  private pending: Row[] = [];
  /** Buffered entries by inode and name, so a lookup sees them before the flush. */
  private readonly recent = new Map<string, Row>();

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
        'CREATE TABLE IF NOT EXISTS hashes (inode INTEGER NOT NULL, name TEXT NOT NULL, mtime REAL NOT NULL, size INTEGER NOT NULL, md5 TEXT NOT NULL, PRIMARY KEY (inode, name));' +
          'CREATE TABLE IF NOT EXISTS dir_hashes (path TEXT NOT NULL, name TEXT NOT NULL, fingerprint TEXT NOT NULL, md5 TEXT NOT NULL, size INTEGER NOT NULL, nfiles INTEGER NOT NULL, PRIMARY KEY (path, name))',
      );
    } catch (err) {
      throw new KeelError('INVALID_STATE', `Stat cache ${path} cannot be opened: ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.getStmt = this.db.prepare(
      'SELECT md5 FROM hashes WHERE inode = ? AND name = ? AND mtime = ? AND size = ?',
    );
    this.putStmt = this.db.prepare(
      'INSERT INTO hashes (inode, name, mtime, size, md5) VALUES (?, ?, ?, ?, ?) ON CONFLICT(inode, name) DO UPDATE SET mtime = excluded.mtime, size = excluded.size, md5 = excluded.md5',
    );
    this.getDirStmt = this.db.prepare(
      'SELECT md5, size, nfiles FROM dir_hashes WHERE path = ? AND name = ? AND fingerprint = ?',
    );
    this.putDirStmt = this.db.prepare(
      'INSERT INTO dir_hashes (path, name, fingerprint, md5, size, nfiles) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(path, name) DO UPDATE SET fingerprint = excluded.fingerprint, md5 = excluded.md5, size = excluded.size, nfiles = excluded.nfiles',
    );
  }

  /** A folder's stored hash, when its fingerprint (every file's path and stat) still matches. */
  getDir(path: string, name: HashName, fingerprint: string): DirState | undefined {
    return this.getDirStmt.get(path, name, fingerprint);
  }

  /** Remembers a folder's hash under its fingerprint (written at once). */
  setDir(path: string, name: HashName, fingerprint: string, state: DirState): void {
    this.putDirStmt.run(path, name, fingerprint, state.md5, state.size, state.nfiles);
  }

  /** The stored hash of a file whose stat still matches, or undefined. */
  get(key: StatKey, name: HashName = 'md5'): string | undefined {
    const buffered = this.recent.get(`${key.ino}|${name}`);
    if (buffered) return buffered[2] === key.mtimeMs && buffered[3] === key.size ? buffered[4] : undefined;
    return this.getStmt.get(key.ino, name, key.mtimeMs, key.size)?.md5;
  }

  /** Remembers a hash; written on the next `flush()`. */
  set(key: StatKey, md5: string, name: HashName = 'md5'): void {
    const row: Row = [key.ino, name, key.mtimeMs, key.size, md5];
    this.pending.push(row);
    this.recent.set(`${key.ino}|${name}`, row);
  }

  /** Writes buffered entries in one transaction. */
  flush(): void {
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    this.recent.clear();
    this.db.transaction(() => {
      for (const row of rows) this.putStmt.run(...row);
    })();
  }

  close(): void {
    this.flush();
    this.db.close();
  }
}
