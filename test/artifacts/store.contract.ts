/**
 * What every artifact store does, run against each backend (local folder, S3): the registry, the
 * tracking API and the MLflow artifact proxy rely on exactly this behaviour.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ArtifactStore, TEMP_PREFIX } from '../../src/artifacts/index.js';
import { tempDir } from '../helpers/temp.js';

export interface OpenedStore {
  store: ArtifactStore;
  cleanup: () => Promise<void>;
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

async function text(store: ArtifactStore, path: string): Promise<string> {
  const { stream } = await store.get(path);
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function artifactStoreContract(backend: string, open: () => Promise<OpenedStore>): void {
  describe(`artifact store contract (${backend})`, () => {
    let opened: OpenedStore;
    let store: ArtifactStore;
    let n = 0;
    // Each test works in its own folder of the one store.
    const fresh = () => `t${++n}`;
    beforeAll(async () => {
      opened = await open();
      store = opened.store;
    });
    afterAll(async () => opened?.cleanup());

    it('writes bytes, text and streams, and reads back what was written', async () => {
      const d = fresh();
      const bytes = new Uint8Array([0, 1, 2, 250, 255]);
      expect(await store.put(`${d}/a.bin`, bytes)).toBe(5);
      expect(await store.put(`${d}/b.txt`, 'héllo')).toBe(6);
      const big = Buffer.alloc(3 * 1024 * 1024 + 7, 'x');
      expect(await store.put(`${d}/c.dat`, Readable.from([big.subarray(0, 1000), big.subarray(1000)]))).toBe(
        big.length,
      );
      const got = await store.get(`${d}/a.bin`);
      expect(got.size).toBe(5);
      const chunks: Buffer[] = [];
      for await (const c of got.stream) chunks.push(c as Buffer);
      expect(new Uint8Array(Buffer.concat(chunks))).toEqual(bytes);
      expect(await text(store, `${d}/b.txt`)).toBe('héllo');
      expect(sha256(await text(store, `${d}/c.dat`))).toBe(sha256(big));
      // A second write replaces the file whole.
      await store.put(`${d}/b.txt`, 'second');
      expect(await text(store, `${d}/b.txt`)).toBe('second');
    });

    it('lists one level, sorted, folders without size, files with it, temporary names hidden', async () => {
      const d = fresh();
      await store.put(`${d}/z.txt`, 'zz');
      await store.put(`${d}/m/deep/x.txt`, 'x');
      await store.put(`${d}/a b+c%.txt`, 'abc');
      await store.put(`${d}/${TEMP_PREFIX}half.tmp`, 'partial');
      expect(await store.list(d)).toEqual([
        { path: 'a b+c%.txt', isDir: false, fileSize: 3 },
        { path: 'm', isDir: true },
        { path: 'z.txt', isDir: false, fileSize: 2 },
      ]);
      expect(await store.list(`${d}/m`)).toEqual([{ path: 'deep', isDir: true }]);
      expect(await store.list(`${d}/missing`)).toEqual([]);
      expect(await store.list(`${d}/z.txt`)).toEqual([]);
      expect((await store.list('')).map((e) => e.path)).toContain(d);
    });

    it('tells a file from a folder from nothing', async () => {
      const d = fresh();
      await store.put(`${d}/f/x.txt`, 'x');
      expect(await store.kind(`${d}/f/x.txt`)).toBe('file');
      expect(await store.kind(`${d}/f`)).toBe('folder');
      expect(await store.kind(d)).toBe('folder');
      expect(await store.kind('')).toBe('folder');
      expect(await store.kind(`${d}/f/x`)).toBeUndefined();
      expect(await store.kind(`${d}/nothing`)).toBeUndefined();
    });

    it('keeps a path a file or a folder, never both', async () => {
      const d = fresh();
      await store.put(`${d}/file`, 'x');
      await store.put(`${d}/dir/x`, 'x');
      await expect(store.put(`${d}/file/below`, 'y')).rejects.toMatchObject({
        code: 'INVALID_PARAMETER_VALUE',
      });
      await expect(store.put(`${d}/dir`, 'y')).rejects.toMatchObject({ code: 'INVALID_PARAMETER_VALUE' });
      await expect(store.put('', 'y')).rejects.toMatchObject({ code: 'INVALID_PARAMETER_VALUE' });
      await expect(store.get(`${d}/dir`)).rejects.toMatchObject({ code: 'INVALID_PARAMETER_VALUE' });
      await expect(store.copy(`${d}/dir`, `${d}/file`)).rejects.toMatchObject({
        code: 'INVALID_PARAMETER_VALUE',
      });
      await expect(store.move(`${d}/dir`, `${d}/file/dir`)).rejects.toMatchObject({
        code: 'INVALID_PARAMETER_VALUE',
      });
      await expect(store.copy(`${d}/file`, `${d}/dir`)).rejects.toMatchObject({
        code: 'INVALID_PARAMETER_VALUE',
      });
      expect(await text(store, `${d}/file`)).toBe('x');
    });

    it('refuses paths that leave the store', async () => {
      for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a\\b']) {
        await expect(store.put(bad, 'x')).rejects.toMatchObject({ code: 'INVALID_PARAMETER_VALUE' });
        await expect(store.get(bad)).rejects.toMatchObject({ code: 'INVALID_PARAMETER_VALUE' });
      }
    });

    it('says what is missing with RESOURCE_DOES_NOT_EXIST', async () => {
      const d = fresh();
      await expect(store.get(`${d}/none.txt`)).rejects.toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
      await expect(store.delete(`${d}/none`)).rejects.toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
      await expect(store.copy(`${d}/none`, `${d}/b`)).rejects.toMatchObject({
        code: 'RESOURCE_DOES_NOT_EXIST',
      });
      await expect(store.move(`${d}/none`, `${d}/b`)).rejects.toMatchObject({
        code: 'RESOURCE_DOES_NOT_EXIST',
      });
      await expect(store.digest(`${d}/none`)).rejects.toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
    });

    it('copies a file and a folder (without its temporary files), names with spaces and accents included', async () => {
      const d = fresh();
      await store.put(`${d}/src/MLmodel`, 'flavors: {}');
      await store.put(`${d}/src/data/modèle 1+1.onnx`, 'onnx');
      await store.put(`${d}/src/${TEMP_PREFIX}x/part`, 'half');
      await store.copy(`${d}/src`, `${d}/dst`);
      expect(await store.digest(`${d}/dst`)).toEqual({
        MLmodel: sha256('flavors: {}'),
        'data/modèle 1+1.onnx': sha256('onnx'),
      });
      await store.copy(`${d}/src/MLmodel`, `${d}/one/MLmodel`);
      expect(await text(store, `${d}/one/MLmodel`)).toBe('flavors: {}');
      // The source is untouched.
      expect(await store.kind(`${d}/src/data/modèle 1+1.onnx`)).toBe('file');
    });

    it('moves a folder to a free path, and refuses a taken one', async () => {
      const d = fresh();
      await store.put(`${d}/staging/a.txt`, 'a');
      await store.put(`${d}/staging/sub/b.txt`, 'b');
      await store.put(`${d}/taken/x`, 'x');
      await expect(store.move(`${d}/staging`, `${d}/taken`)).rejects.toMatchObject({
        code: 'RESOURCE_ALREADY_EXISTS',
      });
      await expect(store.move(`${d}/staging`, '')).rejects.toMatchObject({ code: 'INVALID_PARAMETER_VALUE' });
      await store.move(`${d}/staging`, `${d}/models/1`);
      expect(await store.kind(`${d}/staging`)).toBeUndefined();
      expect(await store.digest(`${d}/models/1`)).toEqual({ 'a.txt': sha256('a'), 'sub/b.txt': sha256('b') });
      await store.move(`${d}/models/1/a.txt`, `${d}/a-moved.txt`);
      expect(await text(store, `${d}/a-moved.txt`)).toBe('a');
    });

    it('digests every file of a folder by its sha256, in path order', async () => {
      const d = fresh();
      await store.put(`${d}/b.txt`, 'bee');
      await store.put(`${d}/a/z.bin`, new Uint8Array([1, 2, 3]));
      const digest = await store.digest(d);
      expect(Object.keys(digest)).toEqual(['a/z.bin', 'b.txt']);
      expect(digest['b.txt']).toBe(sha256('bee'));
      expect(digest['a/z.bin']).toBe(sha256(new Uint8Array([1, 2, 3])));
      await expect(store.digest(`${d}/b.txt`)).rejects.toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
    });

    it('deletes a file and a whole folder, never the root', async () => {
      const d = fresh();
      await store.put(`${d}/keep.txt`, 'k');
      await store.put(`${d}/gone/a`, 'a');
      await store.put(`${d}/gone/deep/b`, 'b');
      await store.delete(`${d}/gone`);
      expect(await store.kind(`${d}/gone`)).toBeUndefined();
      expect(await store.list(d)).toEqual([{ path: 'keep.txt', isDir: false, fileSize: 1 }]);
      await store.delete(`${d}/keep.txt`);
      expect(await store.kind(`${d}/keep.txt`)).toBeUndefined();
      await expect(store.delete('')).rejects.toMatchObject({ code: 'INVALID_PARAMETER_VALUE' });
    });

    it('copies a local folder in, recursively', async () => {
      const d = fresh();
      const local = tempDir();
      mkdirSync(join(local, 'sub'));
      writeFileSync(join(local, 'MLmodel'), 'm');
      writeFileSync(join(local, 'sub', 'w.bin'), Buffer.from([9, 9]));
      await store.putLocal(local, `${d}/model`);
      expect(await store.digest(`${d}/model`)).toEqual({
        MLmodel: sha256('m'),
        'sub/w.bin': sha256(Buffer.from([9, 9])),
      });
      await expect(store.putLocal(join(local, 'none'), `${d}/x`)).rejects.toMatchObject({
        code: 'RESOURCE_DOES_NOT_EXIST',
      });
    });

    it('hands out a local file with the bytes of a stored one, for tools that need a file', async () => {
      const d = fresh();
      await store.put(`${d}/model.onnx`, 'onnx bytes');
      expect(readFileSync(await store.localFile(`${d}/model.onnx`), 'utf8')).toBe('onnx bytes');
      await store.put(`${d}/model.onnx`, 'new bytes');
      expect(readFileSync(await store.localFile(`${d}/model.onnx`), 'utf8')).toBe('new bytes');
      // With the sha256 it must have, the file handed out is the one checked.
      expect(readFileSync(await store.localFile(`${d}/model.onnx`, sha256('new bytes')), 'utf8')).toBe(
        'new bytes',
      );
      await expect(store.localFile(`${d}/model.onnx`, sha256('onnx bytes'))).rejects.toMatchObject({
        code: 'INVALID_STATE',
      });
      await expect(store.localFile(`${d}/none.onnx`)).rejects.toMatchObject({
        code: 'RESOURCE_DOES_NOT_EXIST',
      });
    });

    it('gives temporary names that no listing shows and no two calls share', async () => {
      const d = fresh();
      const a = store.tempPath(d);
      const b = store.tempPath(d);
      expect(a).not.toBe(b);
      await store.put(`${a}/x`, 'x');
      expect(await store.kind(a)).toBe('folder');
      expect(await store.list(d)).toEqual([]);
    });
  });
}
