/**
 * @module artifacts/store
 * The artifact store interface and its local-folder implementation. Keys are relative paths
 * (normalized and confined by `normalizeArtifactPath`); writes go to a temporary file in the same
 * folder and are renamed into place, so a reader never sees half a file.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
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

export interface ArtifactStore {
  /** Writes a stream (or bytes) to `path`, replacing what was there. Returns bytes written. */
  put(path: string, data: Readable | Uint8Array | string): Promise<number>;
  /** Copies a local file or folder (recursively) under `path`. */
  putLocal(localPath: string, path: string): Promise<void>;
  /** @throws KeelError RESOURCE_DOES_NOT_EXIST when there is no file at `path`. */
  get(path: string): Promise<{ stream: Readable; size: number }>;
  /** Entries directly under folder `path` ('' = root), sorted by name. Missing folder = []. */
  list(path: string): Promise<ArtifactEntry[]>;
  /** Deletes a file or a folder. @throws RESOURCE_DOES_NOT_EXIST when nothing is there. */
  delete(path: string): Promise<void>;
  /** The local file path of `path` (for tools that need a file, such as ONNX Runtime). */
  localPath(path: string): string;
}

export class LocalArtifactStore implements ArtifactStore {
  constructor(readonly root: string) {}

  localPath(path: string): string {
    return join(this.root, normalizeArtifactPath(path));
  }

  private fileTarget(path: string): string {
    const rel = normalizeArtifactPath(path);
    if (rel === '')
      throw new KeelError('INVALID_PARAMETER_VALUE', 'An artifact file needs a path, not the root');
    return join(this.root, rel);
  }

  async put(path: string, data: Readable | Uint8Array | string): Promise<number> {
    const target = this.fileTarget(path);
    await mkdir(dirname(target), { recursive: true });
    const existing = await stat(target).catch(() => undefined);
    if (existing?.isDirectory()) {
      throw new KeelError('INVALID_PARAMETER_VALUE', `Artifact path '${path}' is a folder`);
    }
    const tmp = join(dirname(target), `.upload-${shortId(6)}.tmp`);
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

  async get(path: string): Promise<{ stream: Readable; size: number }> {
    const target = this.fileTarget(path);
    const info = await stat(target).catch(() => undefined);
    if (!info?.isFile()) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `No artifact file at '${path}'`);
    return { stream: createReadStream(target), size: info.size };
  }

  async list(path: string): Promise<ArtifactEntry[]> {
    const dir = join(this.root, normalizeArtifactPath(path));
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    const out: ArtifactEntry[] = [];
    for (const e of entries) {
      if (e.name.startsWith('.upload-')) continue;
      if (e.isDirectory()) out.push({ path: e.name, isDir: true });
      else if (e.isFile())
        out.push({ path: e.name, isDir: false, fileSize: (await stat(join(dir, e.name))).size });
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async delete(path: string): Promise<void> {
    const target = this.fileTarget(path);
    if (!(await stat(target).catch(() => undefined))) {
      throw new KeelError('RESOURCE_DOES_NOT_EXIST', `No artifact at '${path}'`);
    }
    await rm(target, { recursive: true, force: true });
  }
}
