/**
 * @module pipeline/hash
 * DVC hashing. DVC 3 (`md5`): a file is the md5 of its raw bytes, a directory the md5 of its
 * sorted `[{"md5", "relpath"}]` manifest in Python's JSON form, suffixed `.dir`. DVC 2
 * (`md5-dos2unix`, read from old locks): a file that looks like text is hashed with CRLF turned
 * into LF, 1 MiB at a time as dvc-data does. A folder is walked as DVC walks it: `.dvcignore`
 * applied, symlinks to folders skipped, symlinks to files followed. A stat cache skips files whose
 * (inode, mtime, size) were hashed before, and folders none of whose files changed.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readSync, type Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import { KeelError, type ProgressFn } from '../core/index.js';
import { HashPool } from './hash-pool.js';
import type { IgnoreFilter } from './ignore.js';
import { codepointCompare, pyJsonDumps } from './pyvalue.js';
import { type HashName, type StatCache, statKey } from './state.js';

/** One file of a directory manifest, as DVC stores it in a `.dir` object. */
export interface DirEntry {
  md5: string;
  relpath: string;
  /** Known when the folder was just hashed (not stored in the `.dir` object). */
  isexec?: boolean;
}

/** The hash of a file or directory, with what `dvc.lock` records (bytes, file count, exec bit). */
export interface HashInfo {
  md5: string;
  size: number;
  /** Only for directories. */
  nfiles?: number;
  /** Only for executable files. */
  isexec?: boolean;
  /** For directories hashed file by file: the manifest (absent when the stat cache answered). */
  entries?: DirEntry[];
}

/** Below this many files to hash, worker threads cost more than they save. */
const POOL_MIN_FILES = 64;
/** Read size: large reads keep md5 at its own speed (a 64 KiB stream costs ~15% more CPU). */
const READ_CHUNK = 8 << 20;
/** DVC 2's dos2unix hashing converts (and decides text-or-not) per 1 MiB chunk. */
const LEGACY_CHUNK = 1 << 20;
const TEXT_BLOCK = 512;

let readBuffer: Buffer | undefined;

/** Whether a block looks like text, as DVC decides it (no NUL, at most 30% non-text bytes). */
export function isTextBlock(block: Uint8Array): boolean {
  if (block.length === 0) return true;
  let nontext = 0;
  for (const b of block) {
    if (b === 0) return false;
    if (!((b >= 32 && b <= 126) || b === 10 || b === 13 || b === 9 || b === 12 || b === 8)) nontext++;
  }
  return nontext / block.length <= 0.3;
}

function dos2unix(chunk: Buffer): Buffer {
  if (chunk.indexOf('\r\n') < 0) return chunk;
  const out = Buffer.allocUnsafe(chunk.length);
  let n = 0;
  for (let i = 0; i < chunk.length; i++) {
    if (chunk[i] === 13 && chunk[i + 1] === 10) continue;
    out[n++] = chunk[i];
  }
  return out.subarray(0, n);
}

/** The md5 of a file under a hash name, read synchronously in large blocks. */
export function md5FileSync(path: string, name: HashName = 'md5'): string {
  const hash = createHash('md5');
  const legacy = name === 'md5-dos2unix';
  const chunkSize = legacy ? LEGACY_CHUNK : READ_CHUNK;
  readBuffer ??= Buffer.allocUnsafe(READ_CHUNK);
  const fd = openSync(path, 'r');
  try {
    let text: boolean | undefined;
    for (;;) {
      // A chunk is filled completely before it is hashed, as Python's read(n) does.
      let n = 0;
      while (n < chunkSize) {
        const got = readSync(fd, readBuffer, n, chunkSize - n, null);
        if (got === 0) break;
        n += got;
      }
      if (n === 0) break;
      let chunk = readBuffer.subarray(0, n);
      if (legacy) {
        text ??= isTextBlock(chunk.subarray(0, TEXT_BLOCK));
        if (text) chunk = dos2unix(chunk);
      }
      hash.update(chunk);
      if (n < chunkSize) break;
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** md5 of a file's bytes (DVC 3's file hash). */
export async function md5File(path: string): Promise<string> {
  return md5FileSync(path);
}

const byRelpath = (a: DirEntry, b: DirEntry) => codepointCompare(a.relpath, b.relpath);
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

/** The directory hash DVC gives a manifest: md5 of its text plus `.dir`. */
export function dirHash(entries: DirEntry[]): string {
  return `${createHash('md5').update(dirManifestText(entries)).digest('hex')}.dir`;
}

const isExec = (st: Stats) => (st.mode & 0o111) !== 0;

/** Hashes files and folders, reusing a stat cache and applying `.dvcignore` when given. */
export class Hasher {
  private pool?: HashPool;

  constructor(
    private readonly state?: StatCache,
    private readonly progress?: ProgressFn,
    private readonly ignore?: IgnoreFilter,
  ) {}

  /** A file's hash under `name`, from the stat cache when its stat still matches. */
  fileHash(path: string, st: Stats, name: HashName = 'md5'): string {
    const key = statKey(st);
    const known = this.state?.get(key, name);
    if (known) return known;
    const md5 = md5FileSync(path, name);
    this.state?.set(key, md5, name);
    return md5;
  }

  /** Every file under `dir` as DVC walks it: sorted relpaths and their stats. */
  listFiles(dir: string): { rels: string[]; stats: Stats[] } {
    const found: Array<[string, Stats]> = [];
    let astral = false;
    const walk = (abs: string, prefix: string) => {
      for (const d of readdirSync(abs, { withFileTypes: true })) {
        const path = join(abs, d.name);
        let isDir = d.isDirectory();
        let st: Stats | undefined;
        if (d.isSymbolicLink()) {
          st = statSync(path, { throwIfNoEntry: false });
          // os.walk does not follow symlinks to folders, and DVC skips them.
          if (!st || st.isDirectory()) continue;
          isDir = false;
        } else if (!isDir && !d.isFile()) continue;
        if (this.ignore?.isIgnored(abs, d.name, isDir)) continue;
        const rel = prefix ? `${prefix}/${d.name}` : d.name;
        if (isDir) walk(path, rel);
        else {
          if (!astral && /[\uD800-\uDFFF]/.test(d.name)) astral = true;
          found.push([rel, st ?? statSync(path)]);
        }
      }
    };
    walk(dir, '');
    // Python sorts by code point; UTF-16 order is the same unless a name holds a surrogate pair.
    found.sort(
      astral ? (a, b) => codepointCompare(a[0], b[0]) : (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0),
    );
    return { rels: found.map((f) => f[0]), stats: found.map((f) => f[1]) };
  }

  /**
   * Hashes a file or a folder.
   * @param options.entries always return a folder's manifest (skips the folder-level cache).
   * @param options.name the hash name; default `md5`.
   * @throws KeelError RESOURCE_DOES_NOT_EXIST when `path` does not exist.
   */
  async hash(path: string, options: { entries?: boolean; name?: HashName } = {}): Promise<HashInfo> {
    const name = options.name ?? 'md5';
    let st: Stats;
    try {
      st = statSync(path);
    } catch (err) {
      throw new KeelError('RESOURCE_DOES_NOT_EXIST', `${path} does not exist`, { cause: err });
    }
    if (!st.isDirectory()) {
      return { md5: this.fileHash(path, st, name), size: st.size, ...(isExec(st) ? { isexec: true } : {}) };
    }
    const { rels, stats } = this.listFiles(path);
    const fingerprint = createHash('md5');
    let size = 0;
    for (let i = 0; i < rels.length; i++) {
      const s = stats[i];
      size += s.size;
      fingerprint.update(`${rels[i]}\0${s.ino}\0${s.mtimeMs}\0${s.size}\0${s.mode}\n`);
    }
    const print = fingerprint.digest('hex');
    const known = options.entries ? undefined : this.state?.getDir(path, name, print);
    if (known) return { md5: known.md5, size: known.size, nfiles: known.nfiles };
    const entries = await this.hashAll(path, rels, stats, name);
    const md5 = dirHash(entries);
    this.state?.flush();
    this.state?.setDir(path, name, print, { md5, size, nfiles: entries.length });
    return { md5, size, nfiles: entries.length, entries };
  }

  private async hashAll(root: string, rels: string[], stats: Stats[], name: HashName): Promise<DirEntry[]> {
    const keys = stats.map(statKey);
    const md5s = keys.map((k) => this.state?.get(k, name));
    const missing = md5s.flatMap((m, i) => (m === undefined ? [i] : []));
    let done = rels.length - missing.length;
    const report = (files: number) => {
      done += files;
      this.progress?.({ label: `hash ${root}`, done, total: rels.length, unit: 'files' });
    };
    if (missing.length >= POOL_MIN_FILES && name === 'md5') {
      this.pool ??= new HashPool();
      const hashed = await this.pool.hashFiles(
        missing.map((i) => join(root, rels[i])),
        report,
      );
      missing.forEach((i, k) => {
        md5s[i] = hashed[k];
        this.state?.set(keys[i], hashed[k], name);
      });
    } else {
      for (const i of missing) {
        md5s[i] = this.fileHash(join(root, rels[i]), stats[i], name);
        report(1);
      }
    }
    return rels.map((relpath, i) => ({
      md5: md5s[i]!,
      relpath,
      ...(isExec(stats[i]) ? { isexec: true } : {}),
    }));
  }

  /** Stops the hashing workers, if any were started. */
  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = undefined;
  }
}
