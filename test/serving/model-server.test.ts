import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Policy, Registry } from '../../src/registry/index.js';
import {
  type Lease,
  type ModelEntry,
  ModelServer,
  type ModelServerOptions,
} from '../../src/serving/index.js';
import { writeLogisticModel } from '../helpers/onnx.js';
import { NO_GATES, openTestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/temp.js';

/** Each version's weights differ, so a score tells which session computed it. */
const WEIGHTS: Record<string, number[]> = {
  '1': [0.5, -0.25, 1],
  '2': [-1, 0.5, 0.25],
  '3': [0.2, 0.3, -0.1],
};
const ROW = [1, 1, 1];
const scoreOf = (version: string) => 1 / (1 + Math.exp(-WEIGHTS[version].reduce((a, b) => a + b, 0)));
const CHAMPION = 'models:/churn@champion';
const CHALLENGER = 'models:/churn@challenger';
const WAIT = { timeout: 10_000 };

let registry: Registry;
let cleanup: () => Promise<void>;
let dir: string;
const servers: ModelServer[] = [];

async function open(policy: Policy = NO_GATES): Promise<void> {
  ({ registry, cleanup } = await openTestRegistry('sqlite', undefined, { policy }));
  dir = tempDir();
  await registry.models.create('churn');
}

/** Registers versions 1.., each with its WEIGHTS; `broken` ones get a stored file that is not ONNX. */
async function register(count: number, broken: string[] = []): Promise<void> {
  for (let i = 0; i < count; i++) {
    const { version } = await registry.versions.create({
      name: 'churn',
      source: writeLogisticModel(dir, WEIGHTS[String(i + 1)], `v${i + 1}.onnx`),
    });
    // Registration checks the file, so a corrupt artifact is made afterwards, as a disk fault would;
    // loading then finds the file is not the one registered.
    if (broken.includes(version))
      writeFileSync((await registry.resolveModelUri(`models:/churn/${version}`)).modelFile, 'not onnx');
  }
}

async function start(models: ModelEntry[], options: Partial<ModelServerOptions> = {}): Promise<ModelServer> {
  const server = await ModelServer.start({ registry, models, refreshIntervalMs: 0, ...options });
  servers.push(server);
  return server;
}

/** The version and score of one request served through a lease. */
async function serveOne(lease: Lease): Promise<{ version: string; score: number }> {
  try {
    const [score] = await lease.predictor.predictArrays([ROW]);
    return { version: lease.predictor.model.info.version, score };
  } finally {
    lease.release();
  }
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await cleanup();
});

describe('hot swap', () => {
  beforeEach(() => open());

  it('serves a promoted alias under load with no failed request, releasing the old session once drained', async () => {
    await register(2);
    await registry.promote('churn', 1, 'Production');
    const server = await start([CHAMPION]);
    const held = server.acquire('churn');
    let swapped = false;
    let stop = false;
    let served = 0;
    const results: Array<{ version: string; score: number; afterSwap: boolean }> = [];
    const failures: unknown[] = [];
    const workers = Array.from({ length: 6 }, async () => {
      while (!stop) {
        const afterSwap = swapped;
        const lease = server.acquire('churn');
        try {
          const [score] = await lease.predictor.predictArrays([ROW]);
          results.push({ version: lease.predictor.model.info.version, score, afterSwap });
        } catch (err) {
          failures.push(err);
        } finally {
          lease.release();
          served++;
        }
      }
    });
    await vi.waitFor(() => expect(served).toBeGreaterThan(100), WAIT);
    await registry.promote('churn', 2, 'Production');
    await server.refresh();
    swapped = true;
    // The old version finishes the lease it has out before its session goes.
    const [{ version, draining }] = server.list();
    expect(version).toBe('2');
    expect(draining).toEqual([{ version: '1', inFlight: expect.any(Number) }]);
    expect(draining[0].inFlight).toBeGreaterThanOrEqual(1);
    expect((await serveOne(held)).score).toBeCloseTo(scoreOf('1'), 6);
    const mark = served;
    await vi.waitFor(() => expect(served).toBeGreaterThan(mark + 200), WAIT);
    stop = true;
    await Promise.all(workers);

    expect(failures).toEqual([]);
    for (const r of results) expect(r.score).toBeCloseTo(scoreOf(r.version), 6);
    expect(results.some((r) => r.version === '1')).toBe(true);
    const after = results.filter((r) => r.afterSwap);
    expect(after.length).toBeGreaterThan(200);
    expect(after.every((r) => r.version === '2')).toBe(true);
    await vi.waitFor(() => expect(server.list()[0].draining).toEqual([]), WAIT);
    await expect(held.predictor.predictArrays([ROW])).rejects.toThrow(/disposed/);
  });

  it('follows a stage on its timer, and never swaps a version pinned by number', async () => {
    await register(2);
    await registry.promote('churn', 1, 'Production');
    const following = await start(['models:/churn/Production'], { refreshIntervalMs: 25 });
    const pinned = await start(['models:/churn/1'], { refreshIntervalMs: 25 });
    expect(following.list()[0]).toMatchObject({ version: '1', follows: true });
    await registry.promote('churn', 2, 'Production');
    await vi.waitFor(() => expect(following.list()[0].version).toBe('2'), WAIT);
    expect((await serveOne(following.acquire('churn'))).score).toBeCloseTo(scoreOf('2'), 6);
    await pinned.refresh();
    expect(pinned.list()[0]).toMatchObject({ version: '1', follows: false, draining: [] });
    expect(await serveOne(pinned.acquire('churn'))).toMatchObject({ version: '1' });
  });

  it('keeps the old version serving when the new one fails to load, and reports why', async () => {
    await register(3, ['2']);
    await registry.setAlias('churn', 'live', 1);
    const server = await start(['models:/churn@live']);
    await registry.setAlias('churn', 'live', 2);
    await server.refresh();
    expect(server.list()[0]).toMatchObject({
      version: '1',
      lastError: { version: '2', message: expect.stringMatching(/do not match what was registered/) },
    });
    expect((await serveOne(server.acquire('churn'))).score).toBeCloseTo(scoreOf('1'), 6);
    await registry.deleteAlias('churn', 'live');
    await server.refresh();
    expect(server.list()[0]).toMatchObject({
      version: '1',
      lastError: { message: expect.stringMatching(/alias live not found/) },
    });
    // The next good version is served, and the error is cleared.
    await registry.setAlias('churn', 'live', 3);
    await server.refresh();
    expect(server.list()[0]).toMatchObject({ version: '3' });
    expect(server.list()[0].lastError).toBeUndefined();
  });

  it('warms a new version up on its input example and refuses one that answers NaN on it, for good', async () => {
    await register(1);
    // Version 2's folder holds an input example with a missing value, which its logistic model
    // answers NaN for; a row of zeros would have scored.
    const folder = join(dir, 'with-example');
    mkdirSync(folder);
    writeLogisticModel(folder, WEIGHTS['2']);
    writeFileSync(
      join(folder, 'input_example.json'),
      JSON.stringify({
        columns: ['a', 'b', 'c'],
        data: [
          [1, 2, 3],
          [0.5, null, 1],
        ],
      }),
    );
    await registry.versions.create({ name: 'churn', source: folder });
    await registry.setAlias('churn', 'live', 1);
    const server = await start(['models:/churn@live']);
    await registry.setAlias('churn', 'live', 2);
    await server.refresh();
    const [served] = server.list();
    expect(served).toMatchObject({ version: '1', lastError: { version: '2', refused: true } });
    expect(served.lastError?.message).toBe(
      'churn version 2 failed its warm-up: churn version 2 scored NaN for row 1 of its input example (2 rows)',
    );
    expect(server.refusals()).toEqual([
      { model: 'churn', role: 'primary', count: 1, refused: served.lastError },
    ]);
    // Later refreshes neither load it again nor count it again.
    await server.refresh();
    expect(server.list()[0].lastError?.at).toBe(served.lastError?.at);
    expect(server.refusals()[0].count).toBe(1);
    expect((await serveOne(server.acquire('churn'))).version).toBe('1');
    const [entry] = (await registry.audit.list('churn')).filter((e) => e.action === 'serving_refused');
    expect(entry).toMatchObject({
      version: '2',
      from: '1',
      to: 'primary',
      reason: served.lastError?.message,
    });
  });
});

describe('canary', () => {
  const split = (percent: number, sticky = false): ModelEntry => ({
    uri: CHAMPION,
    canary: { uri: CHALLENGER, percent, sticky },
  });

  beforeEach(async () => {
    await open();
    await register(3);
    await registry.promote('churn', 1, 'Production');
    await registry.setAlias('churn', 'challenger', 2);
  });

  it('sends the canary its percent of requests, reproducibly for one seed, and lists both sides', async () => {
    const sides = async (seed: number) => {
      const server = await start([split(20)], { seed });
      const out: boolean[] = [];
      for (let i = 0; i < 10_000; i++) {
        const lease = server.acquire('churn');
        expect(lease.predictor.model.info.version).toBe(lease.canary ? '2' : '1');
        out.push(lease.canary);
        lease.release();
      }
      return { server, out };
    };
    const { server, out } = await sides(7);
    const share = out.filter(Boolean).length / out.length;
    expect(share).toBeGreaterThan(0.18);
    expect(share).toBeLessThan(0.22);
    expect((await sides(7)).out).toEqual(out);
    expect(server.list()).toEqual([
      expect.objectContaining({
        name: 'churn',
        version: '1',
        uri: CHAMPION,
        canary: { uri: CHALLENGER, version: '2', percent: 20, sticky: false, ready: true },
      }),
    ]);
    // A request for a version gets that side.
    const pinned = server.acquire('churn', { version: '2' });
    expect(pinned.canary).toBe(true);
    pinned.release();
    expect(() => server.acquire('churn', { version: '3' })).toThrow(
      /version 3 is not served here \(serving version 1, canary 2\)/,
    );
  });

  it('keeps each sticky key on its side across calls and across a swap of the primary', async () => {
    const server = await start([split(20, true)], { seed: 1 });
    const keys = Array.from({ length: 10_000 }, (_, i) => `customer-${i}`);
    const side = (key: string) => {
      const lease = server.acquire('churn', { key });
      lease.release();
      return lease.canary;
    };
    const first = keys.map(side);
    const share = first.filter(Boolean).length / keys.length;
    expect(share).toBeGreaterThan(0.18);
    expect(share).toBeLessThan(0.22);
    expect(keys.map(side)).toEqual(first);
    await registry.promote('churn', 3, 'Production');
    await server.refresh();
    expect(server.list()[0].version).toBe('3');
    expect(keys.map(side)).toEqual(first);
    const lease = server.acquire('churn', { key: keys[first.indexOf(false)] });
    expect(lease.predictor.model.info.version).toBe('3');
    lease.release();
  });

  it('sends no traffic to a canary that failed to load or is being swapped', async () => {
    await register(1, ['4']);
    await registry.setAlias('churn', 'challenger', 4);
    const server = await start([split(100)]);
    expect(server.list()[0].canary).toMatchObject({
      version: null,
      ready: false,
      lastError: { version: '4', message: expect.stringMatching(/do not match what was registered/) },
    });
    for (let i = 0; i < 1000; i++) {
      const lease = server.acquire('churn');
      expect(lease.canary).toBe(false);
      lease.release();
    }
    expect(() => server.acquire('churn', { version: '4' })).toThrow(/version 4 is not served here/);

    // Point the canary at a good version, then move it while requests keep coming.
    await registry.setAlias('churn', 'challenger', 2);
    await server.refresh();
    expect(server.list()[0].canary).toMatchObject({ version: '2', ready: true });
    expect(server.list()[0].canary?.lastError).toBeUndefined();
    await registry.setAlias('churn', 'challenger', 3);
    let done = false;
    const refreshed = server.refresh().then(() => {
      done = true;
    });
    const seen: string[] = [];
    while (!done) {
      const { ready } = server.list()[0].canary ?? {};
      const lease = server.acquire('churn');
      expect(lease.canary).toBe(ready);
      seen.push(lease.predictor.model.info.version);
      lease.release();
      await new Promise(setImmediate);
    }
    await refreshed;
    // Version 2 until the move is seen, then the primary alone until version 3 is ready.
    expect(seen.join('')).toMatch(/^2*1+$/);
    expect(await serveOne(server.acquire('churn'))).toMatchObject({ version: '3' });
  });
});

describe('canary traffic in the registry', () => {
  const GATED: Policy = {
    productionAlias: 'champion',
    stages: {
      Production: { requireApproval: false, gates: [{ kind: 'canary', minDays: 0, minRequests: 100 }] },
    },
  };

  beforeEach(async () => {
    await open(GATED);
    await register(2);
    await registry.promote('churn', 2, 'Staging');
    await registry.setAlias('churn', 'challenger', 2);
  });

  const drive = (server: ModelServer, requests: number) => {
    let canary = 0;
    let errors = 0;
    for (let i = 0; i < requests; i++) {
      const lease = server.acquire('churn');
      const failed = lease.canary && canary % 10 === 0;
      if (lease.canary) canary++;
      if (failed) errors++;
      lease.release(failed);
      lease.release(true); // a second release is ignored
    }
    return { canary, errors };
  };

  it('adds canary requests and failures at close, not per request, and the promotion gate reads them', async () => {
    const server = await start([{ uri: 'models:/churn/1', canary: { uri: CHALLENGER, percent: 50 } }], {
      seed: 3,
      canaryFlushMs: 60_000,
    });
    const { canary, errors } = drive(server, 400);
    expect(canary).toBeGreaterThan(150);
    expect(errors).toBe(Math.ceil(canary / 10));
    expect((await registry.versions.getPackage('churn', 2)).canary).toBeUndefined();
    await expect(registry.promote('churn', 2, 'Production')).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      details: {
        gates: [
          expect.objectContaining({
            passed: false,
            evidence: expect.objectContaining({ canary_requests: 0 }),
          }),
        ],
      },
    });
    await server.close();
    expect((await registry.versions.getPackage('churn', 2)).canary).toMatchObject({
      requests: canary,
      errors,
    });
    expect((await registry.versions.getPackage('churn', 1)).canary).toBeUndefined();
    // Enough requests now, but one in ten failed: the gate judges the error rate too.
    await expect(registry.promote('churn', 2, 'Production')).rejects.toMatchObject({
      details: {
        gates: [
          expect.objectContaining({
            passed: false,
            evidence: expect.objectContaining({ canary_requests: canary, canary_errors: errors }),
          }),
        ],
      },
    });
    await registry.recordCanary('churn', 2, { requests: 100 * canary });
    expect(await registry.promote('churn', 2, 'Production')).toMatchObject({ status: 'promoted' });
  });

  it('flushes on its timer, adding to the running totals', async () => {
    const server = await start([{ uri: 'models:/churn/1', canary: { uri: CHALLENGER, percent: 100 } }], {
      canaryFlushMs: 20,
    });
    drive(server, 30);
    await vi.waitFor(
      async () =>
        expect((await registry.versions.getPackage('churn', 2)).canary).toMatchObject({
          requests: 30,
          errors: 3,
        }),
      WAIT,
    );
    drive(server, 20);
    await server.close();
    expect((await registry.versions.getPackage('churn', 2)).canary).toMatchObject({
      requests: 50,
      errors: 5,
    });
  });
});

describe('options', () => {
  beforeEach(() => open());

  it('refuses bad options naming the field, before loading anything', async () => {
    await register(1);
    await expect(
      start([{ uri: 'models:/churn/1', canary: { uri: CHALLENGER, percent: 150 } }]),
    ).rejects.toThrow(/models\.0\.canary\.percent/);
    await expect(
      start([{ uri: 'models:/churn/1', canary: { uri: 'models:/fraud/1', percent: 5 } }]),
    ).rejects.toThrow(/models\.0\.canary\.uri: models:\/fraud\/1 is not a version of 'churn'/);
    await expect(start(['models:/churn/1'], { refreshIntervalMs: -1 })).rejects.toThrow(/refreshIntervalMs/);
    await expect(start(['models:/churn/1', { uri: 'models:/churn@champion' }])).rejects.toThrow(
      /model 'churn' is given twice/,
    );
  });
});
