import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type KeelConfig, loadConfig } from '../../src/core/index.js';
import { exportOnnx } from '../../src/ml/index.js';
import type { Registry } from '../../src/registry/index.js';
import { ModelServer, ServingModel, sessionOptionsFrom } from '../../src/serving/index.js';
import { ScorePool, type ScoreWorkerData } from '../../src/serving/score-pool.js';
import { failingModelBytes } from '../helpers/onnx.js';
import { openTestRegistry } from '../helpers/registry.js';
import { trainChurn } from '../helpers/serving.js';
import { tempDir } from '../helpers/temp.js';

const configWith = (yaml: string): KeelConfig => {
  const cwd = tempDir();
  writeFileSync(join(cwd, 'keel.yaml'), yaml);
  return loadConfig({ cwd, env: {} });
};

/** `rows` rows of the churn model's 3 columns, some missing, in one fresh buffer. */
const churnRows = (rows: number): Float32Array =>
  Float32Array.from({ length: rows * 3 }, (_, i) =>
    i % 17 === 5 ? Number.NaN : ((i * 7919) % 1000) / (i % 3 === 0 ? 40 : i % 3 === 1 ? 150 : 100),
  );

describe('scoring large calls on worker threads (serving.offload)', () => {
  let registry: Registry;
  let cleanup: () => Promise<void>;
  const config = configWith(
    'serving:\n  onnx: { intraOpThreads: 1 }\n  offload: { threads: 2, minRows: 500 }\n',
  );
  const models: ServingModel[] = [];
  const load = async (uri: string, offloaded: boolean) => {
    const options = sessionOptionsFrom(config);
    const model = await ServingModel.load(
      registry,
      uri,
      offloaded ? options : { ...options, offload: undefined },
    );
    models.push(model);
    return model;
  };

  beforeAll(async () => {
    ({ registry, cleanup } = await openTestRegistry('sqlite'));
    const dir = tempDir();
    writeFileSync(join(dir, 'churn.onnx'), exportOnnx(trainChurn()));
    writeFileSync(join(dir, 'failing.onnx'), failingModelBytes(2));
    for (const name of ['churn', 'failing']) {
      await registry.models.create(name);
      await registry.versions.create({ name, source: join(dir, `${name}.onnx`) });
    }
  });
  afterAll(async () => {
    await Promise.all(models.map((m) => m.release()));
    await cleanup();
  });

  it('keel.yaml turns it on through sessionOptionsFrom; minRows defaults to 1024', () => {
    expect(sessionOptionsFrom(config).offload).toEqual({ threads: 2, minRows: 500 });
    expect(sessionOptionsFrom(configWith('serving: { offload: { threads: 1 } }\n')).offload).toEqual({
      threads: 1,
    });
    expect(sessionOptionsFrom(configWith('home: .keel\n')).offload).toBeUndefined();
  });

  it('scores a call of minRows rows or more on a thread, with the main session scores', async () => {
    const main = await load('models:/churn/1', false);
    const offloaded = await load('models:/churn/1', true);
    const values = churnRows(2000);
    const want = await main.score(values, 2000);
    expect(await offloaded.score(values, 2000)).toEqual(want);
    expect(offloaded.offloaded).toBe(1);
    // The caller's rows are copied to the thread, not moved: it still has them.
    expect(values.length).toBe(6000);
    // A view of a larger buffer, and calls at once: spread over both threads, each its own answer.
    const view = values.subarray(3 * 500, 3 * 1500);
    const [a, b, c] = await Promise.all([
      offloaded.score(view, 1000),
      offloaded.score(values, 2000),
      offloaded.score(values.subarray(0, 3 * 500), 500),
    ]);
    expect(a).toEqual(want.subarray(500, 1500));
    expect(b).toEqual(want);
    expect(c).toEqual(want.subarray(0, 500));
    expect(offloaded.offloaded).toBe(4);
    expect(offloaded.scoreThreads).toBe(2);
    expect(main.offloaded).toBe(0);
    expect(main.scoreThreads).toBe(0);
  });

  it('starts its threads with the model and keeps calls under minRows on the main thread', async () => {
    const model = await load('models:/churn/1', true);
    const main = await load('models:/churn/1', false);
    expect(model.scoreThreads).toBe(2);
    for (const rows of [1, 100, 499]) {
      const values = churnRows(rows);
      expect(await model.score(values, rows)).toEqual(await main.score(values, rows));
    }
    expect(model.offloaded).toBe(0);
  });

  it('words a failure on a thread as the main path does: EXECUTION_FAILED', async () => {
    const main = await load('models:/failing/1', false);
    const offloaded = await load('models:/failing/1', true);
    // Its 2 columns: it fails every call of more than one row.
    const values = new Float32Array(600 * 2).fill(1);
    const failure = await main.score(values, 600).catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'EXECUTION_FAILED' });
    const offloadedFailure = await offloaded.score(values, 600).catch((e: unknown) => e);
    expect(offloadedFailure).toMatchObject({
      code: 'EXECUTION_FAILED',
      message: (failure as Error).message,
    });
    expect(offloaded.offloaded).toBe(1);
    // A failed call does not end its thread: both are still there.
    await expect(offloaded.score(values, 600)).rejects.toMatchObject({ code: 'EXECUTION_FAILED' });
    expect(offloaded.scoreThreads).toBe(2);
  });

  it('terminates its threads on release', async () => {
    const model = await load('models:/churn/1', true);
    await model.score(churnRows(800), 800);
    expect(model.scoreThreads).toBe(2);
    await model.release();
    models.splice(models.indexOf(model), 1);
    expect(model.scoreThreads).toBe(0);
    await expect(model.score(churnRows(800), 800)).rejects.toMatchObject({ code: 'EXECUTION_FAILED' });
  });

  it('leaves no thread behind when a promotion swaps the model, or when the server closes', async () => {
    await registry.models.create('swapped');
    for (let i = 0; i < 2; i++)
      await registry.versions.create({
        name: 'swapped',
        source: (await registry.resolveModelUri('models:/churn/1')).modelFile,
      });
    await registry.promote('swapped', 1, 'Production');
    const server = await ModelServer.start({
      registry,
      models: ['models:/swapped/Production'],
      refreshIntervalMs: 0,
      session: sessionOptionsFrom(config),
    });
    const modelOf = () => {
      const lease = server.acquire('swapped');
      lease.release();
      return lease.predictor.model;
    };
    const first = modelOf();
    expect(first.scoreThreads).toBe(2);
    await registry.promote('swapped', 2, 'Production');
    await server.refresh();
    const second = modelOf();
    expect(second.info.version).toBe('2');
    await vi.waitFor(() => expect(first.scoreThreads).toBe(0), { timeout: 10_000 });
    expect(second.scoreThreads).toBe(2);
    await server.close();
    expect(second.scoreThreads).toBe(0);
  });

  it('fails the calls of a thread that dies and starts another at the next call', async () => {
    // A thread given nothing to open dies as it starts (its module cannot read workerData).
    const pool = new ScorePool(null as unknown as ScoreWorkerData, { threads: 1 });
    try {
      await expect(pool.start()).rejects.toThrow();
      expect(pool.size).toBe(0);
      // Sent to the dead thread, it would never settle: a new thread takes it (and dies too).
      await expect(pool.score(churnRows(2), 2, 3)).rejects.toThrow();
      expect(pool.calls).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('refuses a keel.yaml asking for no threads or a minRows under 1, naming the field', () => {
    expect(() => configWith('serving: { offload: { threads: 0 } }\n')).toThrow(
      /serving\.offload\.threads: must be at least 1 thread/,
    );
    expect(() => configWith('serving: { offload: { threads: 65 } }\n')).toThrow(
      /serving\.offload\.threads: must be at most 64 threads/,
    );
    expect(() => configWith('serving: { offload: { threads: 2, minRows: -5 } }\n')).toThrow(
      /serving\.offload\.minRows: must be at least 1 row/,
    );
    expect(() => configWith('serving: { offload: { threads: 1.5 } }\n')).toThrow(
      /serving\.offload\.threads: must be a whole number/,
    );
    expect(() => configWith('serving: { offload: { minRows: 10 } }\n')).toThrow(/serving\.offload\.threads/);
  });
});
