/**
 * @module pipeline/hash
 * DVC 3 hashing: a file is the md5 of its raw bytes (streamed), a directory is the md5 of its
 * sorted `[{"md5", "relpath"}]` manifest in Python's JSON form, suffixed `.dir`. A stat cache
 * skips files whose (inode, mtime, size) were hashed before, and folders none of whose files changed.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, type Stats, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KeelError, type ProgressFn } from '../core/index.js';
import { HashPool } from './hash-pool.js';
import { pyJsonDumps } from './pyjson.js';
import type { StatCache } from './state.js';

/** One file of a directory manifest, as DVC stores it in a `.dir` object. */
export interface DirEntry {
  md5: string;
  relpath: string;
}

/** The hash of a file or directory, with the sizes `dvc.lock` records (bytes, file count). */
export interface HashInfo {
  md5: string;
  size: number;
  /** Only for directories. */
  nfiles?: number;
  /** For directories hashed file by file: the manifest (absent when the stat cache answered). */
  entries?: DirEntry[];
}

/** Below this many files to hash, worker threads cost more than they save. */
const POOL_MIN_FILES = 64;
const READ_CHUNK = 1 << 20;
/** Files up to this size are read in one call; larger ones are streamed. */
const WHOLE_READ_LIMIT = 8 << 20;

/** md5 of a file's bytes, read as a stream. */
export function md5File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('md5');
    createReadStream(path, { highWaterMark: READ_CHUNK })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

const byRelpath = (a: DirEntry, b: DirEntry) => (a.relpath < b.relpath ? -1 : a.relpath > b.relpath ? 1 : 0);
const PLAIN = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

/** The `.dir` object's bytes: the sorted manifest as Python's `json.dumps(..., sort_keys=True)`. */
export function dirManifestText(entries: DirEntry[]): string {
  const parts = [...entries].sort(byRelpath).map((e) => {
    // Most paths need no escaping; the general serialiser handles the rest.
    const rel = PLAIN.test(e.relpath) ? `"${e.relpath}"` : pyJsonDumps(e.relpath);
    return `{"md5": "${e.md5}", "relpath": ${rel}}`;
  });
  return `[${parts.join(', ')}]`;
}

/** The directory hash DVC 3 gives a manifest: md5 of its text plus `.dir`. */
export function dirHash(entries: DirEntry[]): string {
  return `${createHash('md5').update(dirManifestText(entries)).digest('hex')}.dir`;
}

function listFiles(dir: string, prefix: string, out: string[]): string[] {
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${d.name}` : d.name;
    if (d.isDirectory()) listFiles(join(dir, d.name), rel, out);
    else if (d.isFile() || d.isSymbolicLink()) out.push(rel);
  }
  return out;
}

/** Hashes files and folders, reusing a stat cache when one is given. */
export class Hasher {
  private pool?: HashPool;

  constructor(
    private readonly state?: StatCache,
    private readonly progress?: ProgressFn,
  ) {}

  private async fileMd5(path: string, st: Stats): Promise<string> {
    const key = { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size };
    const known = this.state?.get(key);
    if (known) return known;
    const md5 =
      st.size <= WHOLE_READ_LIMIT
        ? createHash('md5')
            .update(await readFile(path))
            .digest('hex')
        : await md5File(path);
    this.state?.set(key, md5);
    return md5;
  }

  /**
   * Hashes a file or a folder (recursively; symlinks followed).
   * @param options.entries always return a folder's manifest (skips the folder-level cache).
   * @throws KeelError RESOURCE_DOES_NOT_EXIST when `path` does not exist.
   */
  async hash(path: string, options: { entries?: boolean } = {}): Promise<HashInfo> {
    let st: Stats;
    try {
      st = statSync(path);
    } catch (err) {
      throw new KeelError('RESOURCE_DOES_NOT_EXIST', `${path} does not exist`, { cause: err });
    }
    if (!st.isDirectory()) return { md5: await this.fileMd5(path, st), size: st.size };
    const rels = listFiles(path, '', []).sort();
    const stats = rels.map((rel) => statSync(join(path, rel)));
    const fingerprint = createHash('md5');
    let size = 0;
    for (let i = 0; i < rels.length; i++) {
      const s = stats[i];
      size += s.size;
      fingerprint.update(`${rels[i]}\0${s.ino}\0${s.mtimeMs}\0${s.size}\n`);
    }
    const print = fingerprint.digest('hex');
    const known = options.entries ? undefined : this.state?.getDir(path, print);
    if (known) return { md5: known.md5, size: known.size, nfiles: known.nfiles };
    const entries = await this.hashAll(path, rels, stats);
    const md5 = dirHash(entries);
    this.state?.flush();
    this.state?.setDir(path, print, { md5, size, nfiles: entries.length });
    return { md5, size, nfiles: entries.length, entries };
  }

  private async hashAll(root: string, rels: string[], stats: Stats[]): Promise<DirEntry[]> {
    const keys = stats.map((s) => ({ ino: s.ino, mtimeMs: s.mtimeMs, size: s.size }));
    const md5s = keys.map((k) => this.state?.get(k));
    const missing = md5s.flatMap((m, i) => (m === undefined ? [i] : []));
    let done = rels.length - missing.length;
    const report = (files: number) => {
      done += files;
      this.progress?.({ label: `hash ${root}`, done, total: rels.length, unit: 'files' });
    };
    if (missing.length >= POOL_MIN_FILES) {
      this.pool ??= new HashPool();
      const hashed = await this.pool.hashFiles(
        missing.map((i) => join(root, rels[i])),
        report,
      );
      missing.forEach((i, k) => {
        md5s[i] = hashed[k];
      });
    } else {
      for (const i of missing) {
        md5s[i] = await this.fileMd5(join(root, rels[i]), stats[i]);
        report(1);
      }
    }
    for (const i of missing) this.state?.set(keys[i], md5s[i]!);
    return rels.map((relpath, i) => ({ md5: md5s[i]!, relpath }));
  }

  /** Stops the hashing workers, if any were started. */
  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = undefined;
  }
}
