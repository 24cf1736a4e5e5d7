/**
 * @module pipeline/hash
 * DVC 3 hashing: a file is the md5 of its raw bytes (streamed), a directory is the md5 of its
 * sorted `[{"md5", "relpath"}]` manifest in Python's JSON form, suffixed `.dir`. A stat cache
 * skips files whose (inode, mtime, size) were hashed before.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, type Stats, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { KeelError, type ProgressFn } from '../core/index.js';
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
  /** Only for directories: the manifest the `.dir` hash was computed over. */
  entries?: DirEntry[];
}

const HASH_CONCURRENCY = 4;
const READ_CHUNK = 1 << 20;

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

/** The `.dir` object's bytes: the sorted manifest as Python's `json.dumps(..., sort_keys=True)`. */
export function dirManifestText(entries: DirEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.relpath < b.relpath ? -1 : a.relpath > b.relpath ? 1 : 0));
  return pyJsonDumps(sorted.map((e) => ({ md5: e.md5, relpath: e.relpath })));
}

/** The directory hash DVC 3 gives a manifest: md5 of its text plus `.dir`. */
export function dirHash(entries: DirEntry[]): string {
  return `${createHash('md5').update(dirManifestText(entries)).digest('hex')}.dir`;
}

function listFiles(root: string, dir = root, out: string[] = []): string[] {
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, d.name);
    if (d.isDirectory()) listFiles(root, full, out);
    else if (d.isFile() || d.isSymbolicLink()) out.push(full);
  }
  return out;
}

/** Hashes files and folders, reusing a stat cache when one is given. */
export class Hasher {
  constructor(
    private readonly state?: StatCache,
    private readonly progress?: ProgressFn,
  ) {}

  private async fileMd5(path: string, st: Stats): Promise<string> {
    const key = { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size };
    const known = this.state?.get(key);
    if (known) return known;
    const md5 = await md5File(path);
    this.state?.set(key, md5);
    return md5;
  }

  /**
   * Hashes a file or a folder (recursively; symlinks followed).
   * @throws KeelError RESOURCE_DOES_NOT_EXIST when `path` does not exist.
   */
  async hash(path: string): Promise<HashInfo> {
    let st: Stats;
    try {
      st = statSync(path);
    } catch (err) {
      throw new KeelError('RESOURCE_DOES_NOT_EXIST', `${path} does not exist`, { cause: err });
    }
    if (!st.isDirectory()) return { md5: await this.fileMd5(path, st), size: st.size };
    const files = listFiles(path);
    const entries: DirEntry[] = new Array(files.length);
    let size = 0;
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < files.length) {
        const i = next++;
        const fst = statSync(files[i]);
        size += fst.size;
        entries[i] = {
          md5: await this.fileMd5(files[i], fst),
          relpath: relative(path, files[i]).split(sep).join('/'),
        };
        done++;
        if (done % 500 === 0 || done === files.length) {
          this.progress?.({ label: `hash ${path}`, done, total: files.length, unit: 'files' });
        }
      }
    };
    await Promise.all(Array.from({ length: HASH_CONCURRENCY }, worker));
    this.state?.flush();
    const sorted = entries.sort((a, b) => (a.relpath < b.relpath ? -1 : a.relpath > b.relpath ? 1 : 0));
    return { md5: dirHash(sorted), size, nfiles: sorted.length, entries: sorted };
  }
}
