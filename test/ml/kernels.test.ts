import { describe, expect, it } from 'vitest';
import { assembleWat, KERNELS_WAT } from '../../scripts/wat.js';
import { isKeelError } from '../../src/core/index.js';
import { trainGbdt } from '../../src/ml/index.js';
import { sigmoid } from '../../src/ml/objective.js';
import { Rng } from '../../src/ml/random.js';
import { maxLiveHistograms } from '../../src/ml/tree.js';
import { KernelMemory } from '../../src/ml/wasm/kernels.js';
import { KERNELS_WASM_BASE64 } from '../../src/ml/wasm/kernels-binary.js';
import { inKernelMemory } from './kernel-memory.js';
import { synthetic } from './synthetic.js';

describe('the kernels binary', () => {
  it('is what kernels.wat assembles to (run npm run build:wasm after editing it)', async () => {
    const binary = await assembleWat(KERNELS_WAT);
    expect(KERNELS_WASM_BASE64).toBe(Buffer.from(binary).toString('base64'));
  });
});

describe('KernelMemory', () => {
  it('refuses a reservation after commit, an array from elsewhere, and more than 4 GiB', () => {
    const memory = new KernelMemory();
    const at = memory.reserve(64);
    memory.commit();
    expect(() => memory.reserve(8)).toThrow(/after commit/);
    const own = memory.f64(at, 8);
    expect(() => memory.subtract(own, new Float64Array(8))).toThrow(/outside kernel memory/);
    const huge = new KernelMemory();
    huge.reserve(3 * 2 ** 30);
    huge.reserve(2 * 2 ** 30);
    let error: unknown;
    try {
      huge.commit();
    } catch (e) {
      error = e;
    }
    expect(isKeelError(error, 'INVALID_PARAMETER_VALUE')).toBe(true);
    expect(String(error)).toMatch(/5\.0 GiB .* 4 GiB/);
  });

  it('computes log-loss gradients within a few ulp of Math.exp arithmetic, over the whole range', () => {
    const rng = new Rng(3);
    const n = 200_000;
    // With y = 0 and w = 1 the gradient is the sigmoid itself, so its relative error is the
    // exponential's (and the division's); the edges sit beyond the kernel's clamp, and NaN.
    const edges = [0, 800, -800, 707.9, -708.9, Number.NaN];
    const raw = Float64Array.from({ length: n + edges.length }, (_, i) =>
      i >= n ? edges[i - n] : i % 2 === 0 ? (rng.next() - 0.5) * 1400 : (rng.next() - 0.5) * 40,
    );
    const { memory, views } = inKernelMemory({
      y: new Float64Array(raw.length),
      w: new Float64Array(raw.length).fill(1),
      raw,
      gh: new Float64Array(2 * raw.length),
    });
    memory.logisticGradients(views.y, views.w, views.raw, views.gh);
    const g = (i: number) => views.gh[2 * i];
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const want = sigmoid(raw[i]);
      if (want > 1e-300) worst = Math.max(worst, Math.abs(g(i) - want) / want);
    }
    expect(worst).toBeLessThan(8 * Number.EPSILON);
    expect(g(n)).toBe(0.5);
    expect(g(n + 1)).toBe(1);
    expect(g(n + 2)).toBeLessThan(1e-307);
    expect(g(n + 3) / sigmoid(707.9)).toBeCloseTo(1, 14);
    expect(g(n + 4) / sigmoid(-708.9)).toBeCloseTo(1, 12);
    expect(g(n + 5)).toBeNaN();
  });

  it('sums, subtracts and adds scores over row ranges as plain loops do', () => {
    const rng = new Rng(4);
    const n = 101;
    const arrays = {
      index: Uint32Array.from({ length: n }, (_, i) => (i * 37) % n),
      gh: Float64Array.from({ length: 2 * n }, () => rng.next() - 0.3),
      bins: Uint8Array.from({ length: n }, () => rng.int(4)),
      goesLeft: Uint8Array.from([1, 0, 1, 0]),
      raw: Float64Array.from({ length: n }, () => rng.next()),
      parent: Float64Array.from({ length: 10 }, () => rng.next()),
      child: Float64Array.from({ length: 10 }, () => rng.next()),
    };
    const { memory, views } = inKernelMemory(arrays);
    let g = 0;
    let h = 0;
    for (let i = 3; i < 90; i++) {
      g += arrays.gh[2 * arrays.index[i]];
      h += arrays.gh[2 * arrays.index[i] + 1];
    }
    expect(memory.sumRows(views.index, 3, 90, views.gh)).toEqual([g, h]);
    expect(memory.sumRows(views.index, 7, 7, views.gh)).toEqual([0, 0]);

    memory.subtract(views.parent, views.child);
    expect(Array.from(views.parent)).toEqual(Array.from(arrays.parent, (p, i) => p - arrays.child[i]));

    const want = arrays.raw.slice();
    for (let i = 10; i < 20; i++) want[arrays.index[i]] += 0.25;
    for (let i = 20; i < n; i++) {
      const r = arrays.index[i];
      want[r] += arrays.goesLeft[arrays.bins[r]] ? 1.5 : -2;
    }
    memory.addToRange(views.index, 10, 20, views.raw, 0.25);
    memory.addBySide(views.index, 20, n, views.bins, views.goesLeft, views.raw, 1.5, -2);
    expect(Array.from(views.raw)).toEqual(Array.from(want));
  });
});

describe('the histogram pool', () => {
  it('bounds the live histograms by leaves, depth and rows', () => {
    expect(maxLiveHistograms(1000, 64, 6, 1)).toBe(33);
    expect(maxLiveHistograms(1000, 8, 20, 1)).toBe(8);
    expect(maxLiveHistograms(100, 1000, 20, 10)).toBe(6);
    expect(maxLiveHistograms(10, 2, 1, 20)).toBe(2);
  });

  it('never runs dry, whatever the tree shape', () => {
    const data = synthetic(600, 21, 0.05);
    const rng = new Rng(22);
    for (let t = 0; t < 40; t++) {
      const params = {
        iterations: 3,
        maxLeaves: 2 + rng.int(80),
        maxDepth: 1 + rng.int(12),
        minSamplesLeaf: 1 + rng.int(30),
        minChildWeight: rng.next() < 0.5 ? 0 : 1e-3,
        subsample: rng.next() < 0.5 ? 1 : 0.6,
        seed: t,
      };
      const model = trainGbdt(data.x, data.y, params);
      expect(model.trees).toHaveLength(3);
    }
  });
});
