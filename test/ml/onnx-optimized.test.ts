/**
 * ONNX Runtime session options for serving, and the optimized graph kept beside a version
 * (issue 19, item 3): written on first load into a cache keyed by the model's sha256, opened on
 * later loads, rebuilt when changed, and never written among the registered files (which still
 * verify).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrt, openCachedSession, quantizeDynamic, sessionOptions } from '../../src/ml/index.js';
import type { Registry } from '../../src/registry/index.js';
import { ServingModel } from '../../src/serving/index.js';
import { mlpModelBytes } from '../helpers/onnx.js';
import { openTestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/temp.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const F = 16;
const rows = Float32Array.from({ length: 4 * F }, (_, i) => Math.sin(i));

async function score(session: Awaited<ReturnType<typeof openCachedSession>>['session']): Promise<number[]> {
  const ort = await loadOrt();
  const out = await session.run({ input: new ort.Tensor('float32', rows, [4, F]) });
  return Array.from(out.probability.data as Float32Array);
}

describe('ONNX Runtime session options', () => {
  it('default to full graph optimizations and one thread each, sequential, for one process per core', () => {
    expect(sessionOptions()).toEqual({
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
    expect(sessionOptions({ graphOptimizationLevel: 'basic', intraOpThreads: 2, interOpThreads: 2 })).toEqual(
      {
        graphOptimizationLevel: 'basic',
        intraOpNumThreads: 2,
        interOpNumThreads: 2,
        executionMode: 'parallel',
      },
    );
  });
});

describe('the optimized graph cache', () => {
  // A quantized MLP: the optimizer fuses its integer nodes, so the saved graph differs from the source.
  const model = quantizeDynamic(mlpModelBytes({ inputs: F, hidden: 32 })).bytes;

  it('is written on the first open, opened on the next, and rebuilt when it changed', async () => {
    const dir = tempDir();
    const first = await openCachedSession(model, {}, { dir });
    expect(first.optimized).toMatchObject({
      reused: false,
      source_sha256: sha256(model),
      graph_optimization_level: 'all',
    });
    const file = first.optimized?.file as string;
    expect(sha256(readFileSync(file))).toBe(first.optimized?.sha256);
    expect(readFileSync(file).equals(Buffer.from(model))).toBe(false);
    const want = await score(first.session);
    await first.session.release();

    const second = await openCachedSession(model, {}, { dir });
    expect(second.optimized).toMatchObject({ reused: true, file, sha256: first.optimized?.sha256 });
    expect(await score(second.session)).toEqual(want);
    await second.session.release();

    // Another level is another entry: a graph optimized at 'all' is not served at 'basic'.
    const basic = await openCachedSession(model, { graphOptimizationLevel: 'basic' }, { dir });
    expect(basic.optimized?.file).not.toBe(file);
    await basic.session.release();

    writeFileSync(file, readFileSync(file).subarray(0, 100));
    const rebuilt = await openCachedSession(model, {}, { dir });
    expect(rebuilt.optimized).toMatchObject({ reused: false, sha256: first.optimized?.sha256 });
    expect(await score(rebuilt.session)).toEqual(want);
    await rebuilt.session.release();

    // A file its record vouches for that ONNX Runtime cannot open is made again too.
    const junk = Buffer.from('not an onnx model');
    writeFileSync(file, junk);
    const recordFile = file.replace(/\.onnx$/, '.json');
    writeFileSync(
      recordFile,
      JSON.stringify({ ...JSON.parse(readFileSync(recordFile, 'utf8')), sha256: sha256(junk) }),
    );
    const remade = await openCachedSession(model, {}, { dir });
    expect(remade.optimized).toMatchObject({ reused: false, sha256: first.optimized?.sha256 });
    expect(await score(remade.session)).toEqual(want);
    await remade.session.release();
    // Temporary files are renamed into place, none left behind.
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('keeps nothing without a cache folder or with optimizations disabled', async () => {
    const dir = tempDir();
    const plain = await openCachedSession(model, { graphOptimizationLevel: 'disabled' }, { dir });
    expect(plain.optimized).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
    await plain.session.release();
  });
});

describe('a served version and its optimized graph', () => {
  let registry: Registry;
  let cleanup: () => Promise<void>;
  const cache = tempDir();

  beforeAll(async () => {
    ({ registry, cleanup } = await openTestRegistry('sqlite'));
    const file = join(tempDir(), 'mlp.onnx');
    writeFileSync(file, mlpModelBytes({ inputs: F, hidden: 32 }));
    await registry.models.create('mlp');
    await registry.versions.create({ name: 'mlp', source: file });
  });
  afterAll(async () => cleanup());

  it('is saved outside the registered files on first load and used on the next; the files still verify', async () => {
    const options = { optimizedCacheDir: cache };
    const first = await ServingModel.load(registry, 'models:/mlp/1', options);
    expect(first.optimized?.reused).toBe(false);
    expect(existsSync(first.optimized?.file as string)).toBe(true);
    const want = await first.score(rows, 4);
    await first.release();
    // Loading verifies the version's files against their sha256: an extra file among them would fail it.
    const second = await ServingModel.load(registry, 'models:/mlp/1', options);
    expect(second.optimized).toMatchObject({ reused: true, file: first.optimized?.file });
    expect(await second.score(rows, 4)).toEqual(want);
    await second.release();
    const { modelFile } = await registry.resolveModelUri('models:/mlp/1');
    expect(first.optimized?.source_sha256).toBe(sha256(readFileSync(modelFile)));
  });
});
