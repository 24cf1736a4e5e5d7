/**
 * @module pipeline/objects
 * The content-addressed cache, laid out as DVC's: DVC 3 objects under `.keel/cache/files/md5/ab/cdef...`,
 * DVC 2 (`md5-dos2unix`) objects under `.keel/cache/ab/cdef...`; a file under its md5, a
 * directory's manifest under `<md5>.dir`. Objects are written to a temporary name and renamed,
 * so a killed process never leaves half an object, and made read-only. An object is trusted only
 * after its bytes hash to its name (checked through the stat cache, as DVC checks them), so a
 * corrupted object is never checked out or counted as cached.
 */
import {
  chmodSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { KeelError, shortId, writeFileAtomic } from '../core/index.js';
import { type DirEntry, dirManifestText, type Hasher, type HashInfo } from './hash.js';
import type { HashName } from './state.js';

function copyInto(src: string, dest: string, mode: number): void {
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = `${dest}.${shortId()}.tmp`;
  try {
    // FICLONE makes a reflink where the file system has them and falls back to a copy.
    copyFileSync(src, tmp, constants.COPYFILE_FICLONE);
    chmodSync(tmp, mode);
    renameSync(tmp, dest);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

const OID = /^[0-9a-f]{32}(\.dir)?$/;

export class ObjectStore {
  /**
   * @param root the objects folder (`cache/files/md5`, or `cache` for DVC 2's layout).
   * @param name the hash name its objects are named by.
   */
  constructor(
    readonly root: string,
    readonly name: HashName,
    private readonly hasher: Hasher,
  ) {}

  /** Where an object lives: `<root>/<md5[:2]>/<md5[2:]>`. */
  pathOf(md5: string): string {
    return join(this.root, md5.slice(0, 2), md5.slice(2));
  }

  exists(md5: string): boolean {
    return existsSync(this.pathOf(md5));
  }

  /** True when the object is there and its bytes hash to its name. */
  verify(md5: string): boolean {
    let st: Stats;
    try {
      st = statSync(this.pathOf(md5));
    } catch {
      return false;
    }
    if (!st.isFile()) return false;
    return this.hasher.fileHash(this.pathOf(md5), st, this.name) === md5.replace(/\.dir$/, '');
  }

  /** The manifest of a `.dir` object, or undefined when it is missing or not a manifest. */
  readManifest(md5: string): DirEntry[] | undefined {
    try {
      const list = JSON.parse(readFileSync(this.pathOf(md5), 'utf8')) as unknown;
      if (!Array.isArray(list)) return undefined;
      return list.every((e) => typeof e?.md5 === 'string' && typeof e?.relpath === 'string')
        ? (list as DirEntry[])
        : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * True when the object is in the cache and sound: for a directory, its manifest and every file
   * in it (DVC's `changed_cache`).
   */
  has(md5: string): boolean {
    if (!this.verify(md5)) return false;
    if (!md5.endsWith('.dir')) return true;
    const manifest = this.readManifest(md5);
    return manifest?.every((e) => this.verify(e.md5)) === true;
  }

  /** Writes one file object (replacing a corrupted one) and enters its stat in the stat cache. */
  private put(src: string, md5: string): void {
    if (this.verify(md5)) return;
    const dest = this.pathOf(md5);
    if (existsSync(dest)) chmodSync(dest, 0o644);
    copyInto(src, dest, 0o444);
    this.hasher.fileHash(dest, statSync(dest), this.name);
  }

  /** Stores the file or folder at `path`, whose hash is `info`. Sound objects already present are kept. */
  save(path: string, info: HashInfo): void {
    if (!info.md5.endsWith('.dir')) {
      this.put(path, info.md5);
      return;
    }
    if (!info.entries) {
      throw new KeelError('INVALID_STATE', `Cannot cache folder ${path} without its manifest`);
    }
    for (const e of info.entries) this.put(join(path, e.relpath), e.md5);
    if (!this.verify(info.md5)) {
      const dest = this.pathOf(info.md5);
      if (existsSync(dest)) chmodSync(dest, 0o644);
      writeFileAtomic(dest, dirManifestText(info.entries));
      chmodSync(dest, 0o444);
      this.hasher.fileHash(dest, statSync(dest), this.name);
    }
  }

  /** Copies a file object to `dest` (replacing what is there) with `mode`. */
  copyOut(md5: string, dest: string, mode: number): void {
    rmSync(dest, { recursive: true, force: true });
    copyInto(this.pathOf(md5), dest, mode);
  }

  /** Every object id in the store (two-hex-char folders only: DVC 2's layout shares its root). */
  *list(): Generator<string> {
    if (!existsSync(this.root)) return;
    for (const prefix of readdirSync(this.root)) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      for (const rest of readdirSync(join(this.root, prefix))) {
        if (OID.test(prefix + rest)) yield prefix + rest;
      }
    }
  }
}
