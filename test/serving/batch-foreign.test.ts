/**
 * Batch scoring with foreign models (issue 15, item 4): a skl2onnx-style ZipMap classifier
 * registered without feature references takes its columns from the file's header when the width
 * matches, or from `columns`; one with an input per column takes its input names; a kept CSV
 * column keeps its type.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '../../src/registry/index.js';
import { scoreDataset } from '../../src/serving/index.js';
import { foreignModels } from '../helpers/onnx.js';
import { openTestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/temp.js';
import { readParquet } from './fixtures.js';

const W = [0.5, -1.25, 2];
const B = 0.1;
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const N = 50;
const row = (i: number) => ({
  id: 9_007_199_254_740_993n + BigInt(i),
  u: (i % 7) - 3,
  v: (i % 5) / 4,
  w: (i % 3) - 1,
});
const p = (i: number) => {
  const r = row(i);
  return sigmoid(W[0] * r.u + W[1] * r.v + W[2] * r.w + B);
};

describe('scoreDataset with foreign models', () => {
  const dir = tempDir();
  let registry: Registry;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ registry, cleanup } = await openTestRegistry('sqlite'));
    const register = async (name: string, bytes: Uint8Array) => {
      const file = join(dir, `${name}.onnx`);
      writeFileSync(file, bytes);
      await registry.models.create(name);
      await registry.versions.create({ name, source: file });
    };
    await register('zipmap', foreignModels.sklearnZipMap(W, B));
    await register(
      'columns',
      foreignModels.perColumnInputs(
        [
          ['w', 'float'],
          ['u', 'double'],
          ['v', 'float'],
        ],
        [W[2], W[0], W[1]],
        B,
      ),
    );
  });
  afterAll(async () => cleanup());

  const csv = (name: string, header: string[]) => {
    const lines = Array.from({ length: N }, (_, i) => {
      const r = row(i) as Record<string, unknown>;
      return header.map((h) => String(r[h] ?? `x${i}`)).join(',');
    });
    const path = join(dir, name);
    writeFileSync(path, `${header.join(',')}\n${lines.join('\n')}\n`);
    return path;
  };
  const scores = async (output: string) => {
    const out = await readParquet(output);
    return { out, score: out.rows.map((r) => r.score as number) };
  };

  it("takes the file's columns besides the kept ones when as many as the model takes; the id stays BIGINT", async () => {
    const input = csv('rows.csv', ['id', 'u', 'v', 'w']);
    const result = await scoreDataset({
      registry,
      model: 'models:/zipmap/1',
      input,
      output: join(dir, 'zipmap.parquet'),
      keep: ['id'],
    });
    expect(result.rows).toBe(N);
    const { out, score } = await scores(result.output);
    expect(out.columns).toEqual(['id', 'score', 'model_name', 'model_version']);
    expect(out.types[0]).toBe('BIGINT');
    // Beyond 2^53, exactly: the id is not read through a double.
    expect(out.rows.map((r) => r.id)).toEqual(Array.from({ length: N }, (_, i) => row(i).id));
    score.forEach((s, i) => {
      expect(s).toBeCloseTo(p(i), 6);
    });
  });

  it('takes the columns given, in their order, from a file with others; and asks for them otherwise', async () => {
    const input = csv('wide.csv', ['w', 'note', 'id', 'v', 'u']);
    const output = join(dir, 'wide.parquet');
    await expect(
      scoreDataset({ registry, model: 'models:/zipmap/1', input, output, keep: ['id'] }),
    ).rejects.toThrow(
      /zipmap version 1 names no columns and takes 3 values a row, but '.*wide\.csv' has 4 columns besides the kept ones \(w, note, v, u\): name the model's columns/,
    );
    await expect(
      scoreDataset({ registry, model: 'models:/zipmap/1', input, output, columns: ['u', 'v'] }),
    ).rejects.toThrow(/takes 3 values a row; 2 column names given \(u, v\)/);
    const result = await scoreDataset({
      registry,
      model: 'models:/zipmap/1',
      input,
      output,
      keep: ['note'],
      columns: ['u', 'v', 'w'],
    });
    const { out, score } = await scores(result.output);
    expect(out.types[0]).toBe('VARCHAR');
    score.forEach((s, i) => {
      expect(s).toBeCloseTo(p(i), 6);
    });
  });

  it('feeds a model with one input per column by its input names', async () => {
    const input = csv('cols.csv', ['id', 'u', 'v', 'w', 'note']);
    const result = await scoreDataset({
      registry,
      model: 'models:/columns/1',
      input,
      output: join(dir, 'cols.parquet'),
    });
    const { score } = await scores(result.output);
    score.forEach((s, i) => {
      expect(s).toBeCloseTo(p(i), 6);
    });
  });
});
