import { describe, expect, it } from 'vitest';
import { evalLoss, gradients, sigmoid } from '../../src/ml/objective.js';
import { Rng } from '../../src/ml/random.js';
import { inKernelMemory } from './kernel-memory.js';

describe('gradients (binary)', () => {
  const rng = new Rng(9);
  const n = 5000;
  const y = Float64Array.from({ length: n }, () => (rng.next() < 0.3 ? 1 : 0));
  const w = Float64Array.from({ length: n }, () => 0.5 + rng.next());

  it('returns the log loss evalLoss gives, also with scores far enough out to rescale the product', () => {
    // Odd and even row counts: the kernel takes rows in pairs.
    for (const [spread, rows] of [
      [0.1, n],
      [8, n - 1],
      [2000, n],
      [3, 1],
    ]) {
      const arrays = {
        y: y.subarray(0, rows),
        w: w.subarray(0, rows),
        raw: Float64Array.from({ length: rows }, () => (rng.next() - 0.5) * spread),
        gh: new Float64Array(2 * rows),
      };
      const { memory, views } = inKernelMemory(arrays);
      const { raw, gh } = views;
      const loss = gradients(memory, 'binary', views.y, views.w, raw, gh);
      expect(loss / evalLoss('binary', arrays.y, raw)).toBeCloseTo(1, 11);
      for (let i = rows - 1; i >= 0; i -= 97) {
        const p = sigmoid(raw[i]);
        expect(gh[2 * i]).toBeCloseTo(w[i] * (p - y[i]), 14);
        expect(gh[2 * i + 1]).toBeCloseTo(w[i] * Math.max(p * (1 - p), 1e-16), 14);
      }
    }
  });
});
