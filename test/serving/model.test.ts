import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx, META_CATEGORIES, predictGbdt, trainGbdt } from '../../src/ml/index.js';
import type { Registry } from '../../src/registry/index.js';
import { ModelServer, ServingModel } from '../../src/serving/index.js';
import { writeLogisticModel } from '../helpers/onnx.js';
import { openTestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/temp.js';
import { synthetic } from '../ml/synthetic.js';

const COLORS = ['blue', 'green', 'red'];

describe('serving a registered model', () => {
  let registry: Registry;
  let cleanup: () => Promise<void>;
  let server: ModelServer;
  const data = synthetic(800, 31, 0.05);
  // Column e holds codes; declared categorical, its text values are COLORS (codes 0..2).
  const x = {
    names: data.x.names,
    columns: data.x.columns.map((c, f) => (f === 4 ? c.map((v) => v % 3) : c)),
  };
  const model = trainGbdt(x, data.y, { iterations: 15, seed: 2 }, { categorical: ['e'] });
  const refs = x.names.map((n) => `stats:${n}`);
  const n = 60;
  const want = predictGbdt(model, { names: x.names, columns: x.columns.map((c) => c.subarray(0, n)) });
  /** Row r as the client sends it: categories as text, missing values as null. */
  const record = (r: number) =>
    Object.fromEntries(
      x.names.map((name, f) => {
        const v = x.columns[f][r];
        return [name, Number.isNaN(v) ? null : f === 4 ? COLORS[v] : v];
      }),
    );

  beforeAll(async () => {
    ({ registry, cleanup } = await openTestRegistry('sqlite'));
    const dir = tempDir();
    const file = join(dir, 'gbdt.onnx');
    writeFileSync(
      file,
      exportOnnx(model, { metadata: { [META_CATEGORIES]: JSON.stringify({ e: COLORS }) } }),
    );
    await registry.models.create('churn');
    await registry.versions.create({ name: 'churn', source: file, features: refs });
    await registry.models.create('foreign');
    await registry.versions.create({ name: 'foreign', source: writeLogisticModel(dir, [0.5, -0.25, 1]) });
    server = await ModelServer.start({ registry, models: ['models:/churn/1', 'models:/foreign/1'] });
  });
  afterAll(async () => {
    await server.close();
    await cleanup();
  });

  it('knows each model: columns, task and feature refs, or position only for a foreign model', () => {
    expect(server.list()).toEqual([
      expect.objectContaining({
        name: 'churn',
        version: '1',
        uri: 'models:/churn/1',
        task: 'binary',
        features: ['a', 'b', 'c', 'd', 'e'],
        featureRefs: refs,
      }),
      expect.objectContaining({
        name: 'foreign',
        version: '1',
        // Its output is a Sigmoid's, so it is a classifier.
        task: 'binary',
        features: [],
        featureRefs: [],
      }),
    ]);
  });

  it('scores rows given as objects or arrays as the trainer predicts them', async () => {
    const lease = server.acquire('churn');
    try {
      const records = Array.from({ length: n }, (_, r) => record(r));
      const byRecord = await lease.predictor.predictRecords(records);
      const byArray = await lease.predictor.predictArrays(records.map((r) => x.names.map((k) => r[k])));
      for (let r = 0; r < n; r++) {
        expect(byRecord[r]).toBeCloseTo(want[r], 5);
        expect(byArray[r]).toBe(byRecord[r]);
      }
      // An unseen category counts as missing, as in training; numbers may come as strings.
      const [unseen] = await lease.predictor.predictRecords([
        { ...record(0), e: 'purple', a: String(record(0).a) },
      ]);
      const [missing] = await lease.predictor.predictRecords([{ ...record(0), e: null }]);
      expect(unseen).toBe(missing);
    } finally {
      lease.release();
    }
  });

  it('refuses bad rows naming the column, row and value', async () => {
    const { predictor, release } = server.acquire('churn', { version: '1' });
    try {
      await expect(predictor.predictRecords([record(0), { a: 1 }])).rejects.toThrow(/row 1 lacks column 'b'/);
      await expect(predictor.predictRecords([{ ...record(0), b: 'abc' }])).rejects.toThrow(
        /column 'b', row 0: "abc" is not a number/,
      );
      await expect(predictor.predictArrays([[1, 2, 3]])).rejects.toThrow(
        /row 0 has 3 values; the model takes 5/,
      );
      await expect(predictor.lookupEntities({ customer_id: [1] })).rejects.toMatchObject({
        code: 'FAILED_PRECONDITION',
      });
    } finally {
      release();
    }
    const foreign = server.acquire('foreign');
    try {
      await expect(foreign.predictor.predictRecords([{ x: 1 }])).rejects.toThrow(
        /send rows as arrays of 3 values/,
      );
      const [p] = await foreign.predictor.predictArrays([[1, 0, 0]]);
      expect(p).toBeCloseTo(1 / (1 + Math.exp(-0.5)), 6);
    } finally {
      foreign.release();
    }
  });

  it('answers not found for a model or version it does not serve, and refuses to start on a bad URI', async () => {
    expect(() => server.acquire('fraud')).toThrow(/model 'fraud' is not served here/);
    expect(() => server.acquire('churn', { version: '2' })).toThrow(/version 2 is not served here/);
    await expect(ModelServer.start({ registry, models: ['models:/churn@nobody'] })).rejects.toMatchObject({
      code: 'RESOURCE_DOES_NOT_EXIST',
    });
    await expect(
      ModelServer.start({ registry, models: ['models:/churn/1', 'models:/churn/1'] }),
    ).rejects.toThrow(/given twice/);
    const alone = await ServingModel.load(registry, 'models:/churn@champion').catch((e) => e);
    expect(alone).toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
  });
});
