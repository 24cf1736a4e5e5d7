/**
 * @module artifacts/store
 * The artifact store interface and its local-folder implementation. Keys are relative paths
 * (normalized and confined by `normalizeArtifactPath`); writes go to a temporary file in the same
 * folder and are renamed into place, so a reader never sees half a file. Symbolic links inside the
 * store are never followed: a path that goes through one is refused, and listings and copies skip
 * nothing silently but refuse, so what a client reads or copies is always a file of the store.
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream, createWriteStream, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KeelError, shortId } from '../core/index.js';
import { normalizeArtifactPath } from './paths.js';

export interface ArtifactEntry {
  /** Path relative to the listed folder. */
  path: string;
  isDir: boolean;
  /** Bytes; undefined for folders. */
  fileSize?: number;
}

/** Every file under a folder, by path relative to it (`/`-separated), with its sha256 in hex. */
export type FileDigests = Record<string, string>;

/** Names starting with this are the store's own temporary files and folders: never listed. */
export const TEMP_PREFIX = '.upload-';

export interface ArtifactStore {
  /** Writes a stream (or bytes) to `path`, replacing what was there. Returns bytes written. */
  put(path: string, data: Readable | Uint8Array | string): Promise<number>;
  /** Copies a local file or folder (recursively) under `path`. */
  putLocal(localPath: string, path: string): Promise<void>;
  /** Copies the file or folder at `from` to `to`, inside the store. */
  copy(from: string, to: string): Promise<void>;
  /** Moves `from` to `to` in one rename. @throws RESOURCE_ALREADY_EXISTS when `to` exists. */
  move(from: string, to: string): Promise<void>;
  /** What is at `path`: a file, a folder, or nothing. */
  kind(path: string): Promise<'file' | 'folder' | undefined>;
  /** The sha256 of every file under folder `path`. */
  digest(path: string): Promise<FileDigests>;
  /** @throws KeelError RESOURCE_DOES_NOT_EXIST when there is no file at `path`. */
  get(path: string): Promise<{ stream: Readable; size: number }>;
  /** Entries directly under folder `path` ('' = root), sorted by name. Missing folder = []. */
  list(path: string): Promise<ArtifactEntry[]>;
  /** Deletes a file or a folder. @throws RESOURCE_DOES_NOT_EXIST when nothing is there. */
  delete(path: string): Promise<void>;
  /**
   * A local file holding the bytes of file `path` (for tools that need one, such as ONNX Runtime):
   * the store's own file for a local store, a fresh download for a remote one.
   * @param sha256 what the bytes must hash to: the file handed out is the one checked.
   * @throws INVALID_STATE when the bytes do not hash to `sha256`.
   */
  localFile(path: string, sha256?: string): Promise<string>;
  /** A fresh hidden name for a temporary file or folder in folder `dir`. */
  tempPath(dir: string): string;
  /** Releases what the store holds open (connections); the store is not used after. */
  close(): void;
}

const bad = (message: string) => new KeelError('INVALID_PARAMETER_VALUE', message);

/** A fresh hidden name in folder `dir`, which no listing shows. */
export function tempArtifactPath(dir: string): string {
  const rel = normalizeArtifactPath(dir);
  return `${rel ? `${rel}/` : ''}${TEMP_PREFIX}${shortId(8)}`;
}

/** What `resolve` found: the local path and what is there (undefined: nothing). */
interface Resolved {
  rel: string;
  target: string;
  found: Stats | undefined;
}

export class LocalArtifactStore implements ArtifactStore {
  constructor(readonly root: string) {}

  /** Where `path` is on disk (whether or not anything is there). */
  localPath(path: string): string {
    return join(this.root, normalizeArtifactPath(path));
  }

  close(): void {}

  async localFile(path: string, sha256?: string): Promise<string> {
    const { rel, target, found } = await this.fileTarget(path);
    if (!found?.isFile()) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `No artifact file at '${rel}'`);
    if (sha256 !== undefined) checkSha256(rel, await sha256File(target), sha256);
    return target;
  }

  tempPath(dir: string): string {
    return tempArtifactPath(dir);
  }

  /**
   * Walks `path` from the root with lstat, one segment at a time.
   * @throws INVALID_PARAMETER_VALUE when a segment is a symbolic link or a file with more below it.
   */
  private async resolve(path: string): Promise<Resolved> {
    const rel = normalizeArtifactPath(path);
    const parts = rel === '' ? [] : rel.split('/');
    let at = this.root;
    let found: Stats | undefined = await stat(this.root).catch(() => undefined);
    for (let i = 0; i < parts.length; i++) {
      at = join(at, parts[i]);
      found = await lstat(at).catch(() => undefined);
      if (!found) return { rel, target: join(this.root, rel), found: undefined };
      const shown = parts.slice(0, i + 1).join('/');
      if (found.isSymbolicLink())
        throw bad(
          `Artifact path '${rel}' goes through a symbolic link ('${shown}'): Keel does not follow them`,
        );
      if (i < parts.length - 1 && !found.isDirectory())
        throw bad(`Artifact path '${rel}' is not valid: '${shown}' is a file, not a folder`);
    }
    return { rel, target: at, found };
  }

  private async fileTarget(path: string): Promise<Resolved> {
    const r = await this.resolve(path);
    if (r.rel === '') throw bad('An artifact file needs a path, not the root');
    if (r.found?.isDirectory()) throw bad(`Artifact path '${r.rel}' is a folder`);
    return r;
  }

  async kind(path: string): Promise<'file' | 'folder' | undefined> {
    const { found } = await this.resolve(path);
    return found === undefined ? undefined : found.isDirectory() ? 'folder' : 'file';
  }

  async put(path: string, data: Readable | Uint8Array | string): Promise<number> {
    const { target } = await this.fileTarget(path);
    await mkdir(dirname(target), { recursive: true });
    const tmp = join(dirname(target), `${TEMP_PREFIX}${shortId(6)}.tmp`);
    try {
      const out = createWriteStream(tmp);
      if (typeof data === 'string' || data instanceof Uint8Array) {
        await new Promise<void>((resolve, reject) => {
          out.on('error', reject);
          out.end(data, () => resolve());
        });
      } else await pipeline(data, out);
      await rename(tmp, target);
      return (await stat(target)).size;
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async putLocal(localPath: string, path: string): Promise<void> {
    const info = await stat(localPath).catch(() => undefined);
    if (!info) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `No local file or folder '${localPath}'`);
    if (info.isFile()) {
      await this.put(path, createReadStream(localPath));
      return;
    }
    for (const entry of await readdir(localPath, { withFileTypes: true })) {
      const child = path === '' ? entry.name : `${path}/${entry.name}`;
      await this.putLocal(join(localPath, entry.name), child);
    }
  }

  async copy(from: string, to: string): Promise<void> {
    const source = await this.resolve(from);
    if (!source.found) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `No artifact at '${source.rel}'`);
    if (source.found.isFile()) {
      await this.put(to, await readNoFollow(source.target));
      return;
    }
    for (const entry of await readdir(source.target, { withFileTypes: true })) {
      if (entry.isSymbolicLink())
        throw bad(
          `Artifact folder '${source.rel}' holds a symbolic link ('${entry.name}'): Keel does not follow them`,
        );
      if (entry.name.startsWith(TEMP_PREFIX)) continue;
      if (entry.isFile() || entry.isDirectory())
        await this.copy(`${source.rel}/${entry.name}`, `${normalizeArtifactPath(to)}/${entry.name}`);
    }
  }

  async move(from: string, to: string): Promise<void> {
    const source = await this.resolve(from);
    if (!source.found) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `No artifact at '${source.rel}'`);
    const target = await this.resolve(to);
    if (target.rel === '') throw bad('Nothing moves onto the artifact root');
    if (target.found) throw new KeelError('RESOURCE_ALREADY_EXISTS', `Artifact path '${target.rel}' exists`);
    await mkdir(dirname(target.target), { recursive: true });
    await rename(source.target, target.target);
  }

  async digest(path: string): Promise<FileDigests> {
    const { rel, target, found } = await this.resolve(path);
    if (!found?.isDirectory())
      throw new KeelError('RESOURCE_DOES_NOT_EXIST', `No artifact folder at '${rel}'`);
    const out: FileDigests = {};
    const walk = async (dir: string, prefix: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const name = prefix ? `${prefix}/${entry.name}` : entry.name;
        if (entry.isDirectory()) await walk(join(dir, entry.name), name);
        else if (entry.isFile()) out[name] = await sha256File(join(dir, entry.name));
        // A link or a device is no model file: it is recorded so that verification fails on it.
        else out[name] = 'not-a-regular-file';
      }
    };
    await walk(target, '');
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  async get(path: string): Promise<{ stream: Readable; size: number }> {
    const { rel, target, found } = await this.fileTarget(path);
    if (!found?.isFile()) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `No artifact file at '${rel}'`);
    // O_NOFOLLOW: a link swapped in after the walk is refused by the kernel, not read.
    return { stream: await readNoFollow(target), size: found.size };
  }

  async list(path: string): Promise<ArtifactEntry[]> {
    const { target, found } = await this.resolve(path);
    if (!found?.isDirectory()) return [];
    const entries = await readdir(target, { withFileTypes: true });
    const out: ArtifactEntry[] = [];
    for (const e of entries) {
      if (e.name.startsWith(TEMP_PREFIX)) continue;
      if (e.isDirectory()) out.push({ path: e.name, isDir: true });
      else if (e.isFile())
        out.push({ path: e.name, isDir: false, fileSize: (await lstat(join(target, e.name))).size });
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async delete(path: string): Promise<void> {
    const { rel, target, found } = await this.resolve(path);
    if (rel === '') throw bad('The artifact root cannot be deleted');
    if (!found) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `No artifact at '${rel}'`);
    // rm does not follow links below the target: it removes the link itself.
    await rm(target, { recursive: true, force: true });
  }
}

/** A stream of a file's bytes; the kernel refuses to open it if it is a symbolic link. */
async function readNoFollow(path: string): Promise<Readable> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  return handle.createReadStream();
}

/** @throws INVALID_STATE when `found` is not the `expected` sha256 of file `path`. */
export function checkSha256(path: string, found: string, expected: string): void {
  if (found !== expected)
    throw new KeelError(
      'INVALID_STATE',
      `Artifact '${normalizeArtifactPath(path)}' changed: sha256 ${found.slice(0, 12)}… is not the expected ${expected.slice(0, 12)}…`,
    );
}

/** The sha256 of a file's bytes, in hex. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await readNoFollow(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
