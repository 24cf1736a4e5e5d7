/**
 * @module pipeline/objects
 * The content-addressed cache `.keel/cache/files/md5/ab/cdef...`, laid out as DVC 3's
 * `.dvc/cache/files/md5`: a file under its md5, a directory's manifest under `<md5>.dir`. Objects
 * are written to a temporary name and renamed, so a killed process never leaves half an object.
 */
import {
  chmodSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { KeelError, shortId, writeFileAtomic } from '../core/index.js';
import { type DirEntry, dirManifestText, type HashInfo } from './hash.js';

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

export class ObjectStore {
  /** @param root the `files/md5` folder. */
  constructor(readonly root: string) {}

  /** Where an object lives: `<root>/<md5[:2]>/<md5[2:]>`. */
  pathOf(md5: string): string {
    return join(this.root, md5.slice(0, 2), md5.slice(2));
  }

  /** The manifest of a `.dir` object. @throws KeelError RESOURCE_DOES_NOT_EXIST when missing. */
  readManifest(md5: string): DirEntry[] {
    const path = this.pathOf(md5);
    if (!existsSync(path)) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `Cache object ${md5} is missing`);
    return JSON.parse(readFileSync(path, 'utf8')) as DirEntry[];
  }

  /** True when the object (and, for a directory, every file in it) is in the cache. */
  has(md5: string): boolean {
    if (!existsSync(this.pathOf(md5))) return false;
    if (!md5.endsWith('.dir')) return true;
    return this.readManifest(md5).every((e) => existsSync(this.pathOf(e.md5)));
  }

  /** Stores the file or folder at `path`, whose hash is `info`. Objects already present are kept. */
  save(path: string, info: HashInfo): void {
    if (info.md5.endsWith('.dir') && !info.entries) {
      throw new KeelError('INVALID_STATE', `Cannot cache folder ${path} without its manifest`);
    }
    if (!info.entries) {
      if (!existsSync(this.pathOf(info.md5))) copyInto(path, this.pathOf(info.md5), 0o444);
      return;
    }
    for (const e of info.entries) {
      if (!existsSync(this.pathOf(e.md5))) copyInto(join(path, e.relpath), this.pathOf(e.md5), 0o444);
    }
    if (!existsSync(this.pathOf(info.md5)))
      writeFileAtomic(this.pathOf(info.md5), dirManifestText(info.entries));
  }

  /**
   * Restores an object to `dest`, replacing what is there.
   * @throws KeelError RESOURCE_DOES_NOT_EXIST when the object is not in the cache.
   */
  checkout(md5: string, dest: string): void {
    if (!this.has(md5))
      throw new KeelError('RESOURCE_DOES_NOT_EXIST', `Cache object ${md5} for ${dest} is missing`);
    rmSync(dest, { recursive: true, force: true });
    if (!md5.endsWith('.dir')) {
      copyInto(this.pathOf(md5), dest, 0o644);
      return;
    }
    for (const e of this.readManifest(md5)) copyInto(this.pathOf(e.md5), join(dest, e.relpath), 0o644);
    mkdirSync(dest, { recursive: true });
  }
}
