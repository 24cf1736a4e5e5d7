/**
 * @module artifacts/s3-store
 * The artifact store on S3 or any server speaking its API (the AWS SDK v3). A path is the object
 * key `<prefix>/<path>`; a folder is every key below `<prefix>/<path>/`, as S3 consoles and
 * MLflow's S3 artifact repository show them. The store keeps the local store's rules: a path is
 * a file or a folder, never both, and nothing goes below a file.
 *
 * Atomicity: one object is written by one PUT, which S3 applies whole or not at all, so a reader
 * never sees half a file. A stream of unknown length is first spooled to a local file, so the PUT
 * carries its length. Writes of several objects (a folder copy or move) are not atomic as a whole;
 * they run in this order: every object is copied to the target first, and only then are the
 * sources deleted, so a crash leaves the target complete or partial and the source whole. The
 * registry only ever moves a staging folder into a version folder before the version's row
 * commits, and moves aside a folder no row holds, so a partial copy is never served.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';
import { KeelError, type S3ArtifactsConfig, shortId } from '../core/index.js';
import { normalizeArtifactPath } from './paths.js';
import {
  type ArtifactEntry,
  type ArtifactStore,
  checkSha256,
  type FileDigests,
  TEMP_PREFIX,
  tempArtifactPath,
} from './store.js';

const bad = (message: string) => new KeelError('INVALID_PARAMETER_VALUE', message);

type S3Sdk = typeof import('@aws-sdk/client-s3');
let loadedSdk: S3Sdk | undefined;
/**
 * The AWS SDK's S3 client, loaded when the first S3 store is made: loading it took 0.18-0.26 s
 * here, which every process that imports the artifact stores (`keel serve` among them) paid at
 * start even with a local store. A package of CommonJS modules, so a synchronous require.
 */
const sdk = (): S3Sdk => {
  loadedSdk ??= createRequire(import.meta.url)('@aws-sdk/client-s3') as S3Sdk;
  return loadedSdk;
};

/** Objects read at once to digest a folder. */
const DIGEST_READS = 8;

/** DeleteObjects takes at most this many keys per request. */
const DELETE_BATCH = 1000;

/** A missing key: `NoSuchKey`, or `NotFound` for a HEAD (which has no body to say more). */
const isMissing = (err: unknown): boolean =>
  err instanceof sdk().S3ServiceException && (err.name === 'NoSuchKey' || err.name === 'NotFound');

/** Orders names as the local store does (JavaScript string order), not S3's byte order. */
const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

export interface S3StoreOptions extends Omit<S3ArtifactsConfig, 'type'> {
  /** A local folder for spooled uploads and for the copies `localFile` hands out. */
  cacheDir: string;
}

export class S3ArtifactStore implements ArtifactStore {
  readonly bucket: string;
  private readonly client: S3Client;
  /** The key prefix with its trailing slash, or '' for the bucket's root. */
  private readonly base: string;
  private readonly cacheDir: string;

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    const prefix = normalizeArtifactPath(options.prefix ?? '');
    this.base = prefix === '' ? '' : `${prefix}/`;
    this.cacheDir = options.cacheDir;
    // Credentials come from the SDK's own chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, a role.
    this.client = new (sdk().S3Client)({
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      ...(options.forcePathStyle === undefined ? {} : { forcePathStyle: options.forcePathStyle }),
    });
  }

  /** Where the store is, for messages. */
  get url(): string {
    return `s3://${this.bucket}/${this.base}`;
  }

  private key(rel: string): string {
    return `${this.base}${rel}`;
  }

  private folderKey(rel: string): string {
    return rel === '' ? this.base : `${this.base}${rel}/`;
  }

  /**
   * Runs one S3 call. A missing key is rethrown as S3 said it; a missing bucket is
   * FAILED_PRECONDITION (the configuration is wrong); anything else is TEMPORARILY_UNAVAILABLE,
   * naming the store, the operation and S3's error.
   */
  private async call<T>(what: string, rel: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (isMissing(err)) throw err;
      if (err instanceof sdk().S3ServiceException && err.name === 'NoSuchBucket')
        throw new KeelError(
          'FAILED_PRECONDITION',
          `S3 artifact store ${this.url}: bucket '${this.bucket}' does not exist (create it, or fix artifacts.bucket in keel.yaml)`,
          { cause: err },
        );
      const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      throw new KeelError(
        'TEMPORARILY_UNAVAILABLE',
        `S3 artifact store ${this.url}: ${what} '${rel}' failed (${reason})`,
        { cause: err },
      );
    }
  }

  private async isFile(rel: string): Promise<boolean> {
    try {
      await this.call('head', rel, () =>
        this.client.send(new (sdk().HeadObjectCommand)({ Bucket: this.bucket, Key: this.key(rel) })),
      );
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  private async isFolder(rel: string): Promise<boolean> {
    const page = await this.call('list', rel, () =>
      this.client.send(
        new (sdk().ListObjectsV2Command)({ Bucket: this.bucket, Prefix: this.folderKey(rel), MaxKeys: 1 }),
      ),
    );
    return (page.KeyCount ?? page.Contents?.length ?? 0) > 0;
  }

  /** Every page of a listing under `prefix`, following continuation tokens. */
  private async *pages(rel: string, delimiter?: string): AsyncGenerator<ListObjectsV2CommandOutput> {
    let token: string | undefined;
    do {
      const page = await this.call('list', rel, () =>
        this.client.send(
          new (sdk().ListObjectsV2Command)({
            Bucket: this.bucket,
            Prefix: this.folderKey(rel),
            ContinuationToken: token,
            ...(delimiter ? { Delimiter: delimiter } : {}),
          }),
        ),
      );
      yield page;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** The paths (relative to folder `rel`) of every object below it. */
  private async filesUnder(rel: string): Promise<string[]> {
    const prefix = this.folderKey(rel);
    const out: string[] = [];
    for await (const page of this.pages(rel))
      for (const o of page.Contents ?? [])
        if (o.Key && o.Key !== prefix) out.push(o.Key.slice(prefix.length));
    return out;
  }

  /**
   * Checks that `rel` can be a file: not the root, not a folder, and no folder above it a file.
   * @throws INVALID_PARAMETER_VALUE naming the clash.
   */
  private async checkFileTarget(rel: string): Promise<void> {
    if (rel === '') throw bad('An artifact file needs a path, not the root');
    const [folder] = await Promise.all([this.isFolder(rel), this.checkFolderPath(rel, false)]);
    if (folder) throw bad(`Artifact path '${rel}' is a folder`);
  }

  /**
   * Checks that no folder above `rel` (nor `rel` itself, with `self`) is a file.
   * @throws INVALID_PARAMETER_VALUE naming the file in the way.
   */
  private async checkFolderPath(rel: string, self: boolean): Promise<void> {
    const parts = rel === '' ? [] : rel.split('/');
    const paths = parts.slice(0, self ? parts.length : -1).map((_, i) => parts.slice(0, i + 1).join('/'));
    const file = (await Promise.all(paths.map((p) => this.isFile(p)))).findIndex(Boolean);
    if (file >= 0) throw bad(`Artifact path '${rel}' is not valid: '${paths[file]}' is a file, not a folder`);
  }

  async kind(path: string): Promise<'file' | 'folder' | undefined> {
    const rel = normalizeArtifactPath(path);
    if (rel === '') return 'folder';
    if (await this.isFile(rel)) return 'file';
    return (await this.isFolder(rel)) ? 'folder' : undefined;
  }

  tempPath(dir: string): string {
    return tempArtifactPath(dir);
  }

  private async putObject(rel: string, body: Uint8Array | Readable, length: number): Promise<void> {
    await this.call('write', rel, () =>
      this.client.send(
        new (sdk().PutObjectCommand)({
          Bucket: this.bucket,
          Key: this.key(rel),
          Body: body,
          ContentLength: length,
        }),
      ),
    );
  }

  async put(path: string, data: Readable | Uint8Array | string): Promise<number> {
    const rel = normalizeArtifactPath(path);
    await this.checkFileTarget(rel);
    if (typeof data === 'string' || data instanceof Uint8Array) {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      await this.putObject(rel, bytes, bytes.byteLength);
      return bytes.byteLength;
    }
    // A PUT states its length up front: spool the stream to learn it without holding it in memory.
    await mkdir(this.cacheDir, { recursive: true });
    const spool = join(this.cacheDir, `${TEMP_PREFIX}${shortId(8)}.spool`);
    try {
      await pipeline(data, createWriteStream(spool));
      const { size } = await stat(spool);
      await this.putObject(rel, createReadStream(spool), size);
      return size;
    } finally {
      await rm(spool, { force: true });
    }
  }

  async putLocal(localPath: string, path: string): Promise<void> {
    const info = await stat(localPath).catch(() => undefined);
    if (!info) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `No local file or folder '${localPath}'`);
    if (info.isFile()) {
      const rel = normalizeArtifactPath(path);
      await this.checkFileTarget(rel);
      await this.putObject(rel, createReadStream(localPath), info.size);
      return;
    }
    for (const entry of await readdir(localPath, { withFileTypes: true })) {
      const child = path === '' ? entry.name : `${path}/${entry.name}`;
      await this.putLocal(join(localPath, entry.name), child);
    }
  }

  /** Server-side copy of one object. */
  private async copyObject(fromRel: string, toRel: string): Promise<void> {
    // CopySource is `<bucket>/<key>`, URL-encoded (its slashes kept).
    const source = `${this.bucket}/${this.key(fromRel).split('/').map(encodeURIComponent).join('/')}`;
    await this.call('copy', fromRel, () =>
      this.client.send(
        new (sdk().CopyObjectCommand)({ Bucket: this.bucket, Key: this.key(toRel), CopySource: source }),
      ),
    );
  }

  /** What is at `rel`, or RESOURCE_DOES_NOT_EXIST. */
  private async existing(rel: string): Promise<'file' | 'folder'> {
    const kind = await this.kind(rel);
    if (kind === undefined) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `No artifact at '${rel}'`);
    return kind;
  }

  async copy(from: string, to: string): Promise<void> {
    const fromRel = normalizeArtifactPath(from);
    const toRel = normalizeArtifactPath(to);
    if ((await this.existing(fromRel)) === 'file') {
      await this.checkFileTarget(toRel);
      await this.copyObject(fromRel, toRel);
      return;
    }
    await this.checkFolderPath(toRel, true);
    // As the local store: the store's own temporary files are no part of a folder's copy.
    const files = (await this.filesUnder(fromRel)).filter(
      (f) => !f.split('/').some((part) => part.startsWith(TEMP_PREFIX)),
    );
    for (const file of files)
      await this.copyObject(
        fromRel === '' ? file : `${fromRel}/${file}`,
        toRel === '' ? file : `${toRel}/${file}`,
      );
  }

  async move(from: string, to: string): Promise<void> {
    const fromRel = normalizeArtifactPath(from);
    const toRel = normalizeArtifactPath(to);
    const kind = await this.existing(fromRel);
    if (toRel === '') throw bad('Nothing moves onto the artifact root');
    if ((await this.kind(toRel)) !== undefined)
      throw new KeelError('RESOURCE_ALREADY_EXISTS', `Artifact path '${toRel}' exists`);
    await this.checkFolderPath(toRel, false);
    // Every object reaches the target before any source goes (see the module's note on order).
    if (kind === 'file') await this.copyObject(fromRel, toRel);
    else
      for (const file of await this.filesUnder(fromRel))
        await this.copyObject(`${fromRel}/${file}`, `${toRel}/${file}`);
    await this.delete(fromRel);
  }

  async digest(path: string): Promise<FileDigests> {
    const rel = normalizeArtifactPath(path);
    // A folder is its keys: none below `rel/` is no folder (a file at `rel` included).
    const files = (await this.filesUnder(rel)).sort();
    if (files.length === 0) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `No artifact folder at '${rel}'`);
    const hashes = new Array<string>(files.length);
    // A few reads in flight: each object is a round trip to S3.
    let next = 0;
    const worker = async () => {
      while (next < files.length) {
        const i = next++;
        const hash = createHash('sha256');
        const { stream } = await this.get(rel === '' ? files[i] : `${rel}/${files[i]}`);
        for await (const chunk of stream) hash.update(chunk as Buffer);
        hashes[i] = hash.digest('hex');
      }
    };
    await Promise.all(Array.from({ length: Math.min(DIGEST_READS, files.length) }, worker));
    return Object.fromEntries(files.map((f, i) => [f, hashes[i]]));
  }

  async get(path: string): Promise<{ stream: Readable; size: number }> {
    const rel = normalizeArtifactPath(path);
    if (rel === '') throw bad('An artifact file needs a path, not the root');
    try {
      const got = await this.call('read', rel, () =>
        this.client.send(new (sdk().GetObjectCommand)({ Bucket: this.bucket, Key: this.key(rel) })),
      );
      return { stream: got.Body as Readable, size: Number(got.ContentLength ?? 0) };
    } catch (err) {
      if (!isMissing(err)) throw err;
      if (await this.isFolder(rel)) throw bad(`Artifact path '${rel}' is a folder`);
      throw new KeelError('RESOURCE_DOES_NOT_EXIST', `No artifact file at '${rel}'`);
    }
  }

  async list(path: string): Promise<ArtifactEntry[]> {
    const rel = normalizeArtifactPath(path);
    const prefix = this.folderKey(rel);
    const out: ArtifactEntry[] = [];
    for await (const page of this.pages(rel, '/')) {
      for (const p of page.CommonPrefixes ?? []) {
        const name = (p.Prefix ?? '').slice(prefix.length, -1);
        if (name !== '' && !name.startsWith(TEMP_PREFIX)) out.push({ path: name, isDir: true });
      }
      for (const o of page.Contents ?? []) {
        const name = (o.Key ?? '').slice(prefix.length);
        if (name !== '' && !name.startsWith(TEMP_PREFIX))
          out.push({ path: name, isDir: false, fileSize: Number(o.Size ?? 0) });
      }
    }
    return out.sort(byPath);
  }

  async delete(path: string): Promise<void> {
    const rel = normalizeArtifactPath(path);
    if (rel === '') throw bad('The artifact root cannot be deleted');
    if ((await this.existing(rel)) === 'file') {
      await this.call('delete', rel, () =>
        this.client.send(new (sdk().DeleteObjectCommand)({ Bucket: this.bucket, Key: this.key(rel) })),
      );
      return;
    }
    const keys = (await this.filesUnder(rel)).map((f) => this.key(`${rel}/${f}`));
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const done = await this.call('delete', rel, () =>
        this.client.send(
          new (sdk().DeleteObjectsCommand)({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      const failed = done.Errors ?? [];
      if (failed.length > 0)
        throw new KeelError(
          'TEMPORARILY_UNAVAILABLE',
          `S3 artifact store ${this.url}: deleting '${rel}' left ${failed.length} object(s) (${failed
            .slice(0, 3)
            .map((e) => `${e.Key}: ${e.Code}`)
            .join(', ')})`,
        );
    }
  }

  /**
   * Downloads the object to the local cache (write, then rename) and returns that file; each call
   * reads the object anew, so the copy is what the store holds now. The sha256 is taken of the
   * bytes as they arrive, so the file checked is the file handed out.
   */
  async localFile(path: string, sha256?: string): Promise<string> {
    const rel = normalizeArtifactPath(path);
    const target = join(this.cacheDir, 'objects', rel);
    await mkdir(dirname(target), { recursive: true });
    const tmp = join(dirname(target), `${TEMP_PREFIX}${shortId(6)}.tmp`);
    try {
      const { stream } = await this.get(rel);
      const hash = createHash('sha256');
      stream.on('data', (chunk: Buffer) => hash.update(chunk));
      await pipeline(stream, createWriteStream(tmp));
      if (sha256 !== undefined) checkSha256(rel, hash.digest('hex'), sha256);
      await rename(tmp, target);
      return target;
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /** Closes the client's connections. */
  close(): void {
    this.client.destroy();
  }
}
