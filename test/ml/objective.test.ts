import { describe, expect, it } from 'vitest';
import { evalLoss, gradients, sigmoid } from '../../src/ml/objective.js';
import { Rng } from '../../src/ml/random.js';

describe('gradients (binary)', () => {
  const rng = new Rng(9);
  const n = 5000;
  const y = Float64Array.from({ length: n }, () => (rng.next() < 0.3 ? 1 : 0));
  const w = Float64Array.from({ length: n }, () => 0.5 + rng.next());

  it('returns the log loss evalLoss gives, also with scores far enough out to rescale the product', () => {
    for (const spread of [0.1, 8, 2000]) {
      const raw = Float64Array.from({ length: n }, () => (rng.next() - 0.5) * spread);
      const gh = new Float64Array(2 * n);
      const loss = gradients('binary', y, w, raw, gh);
      expect(loss / evalLoss('binary', y, raw)).toBeCloseTo(1, 11);
      for (let i = 0; i < n; i += 97) {
        const p = sigmoid(raw[i]);
        expect(gh[2 * i]).toBeCloseTo(w[i] * (p - y[i]), 14);
        expect(gh[2 * i + 1]).toBeCloseTo(w[i] * Math.max(p * (1 - p), 1e-16), 14);
      }
    }
  });
});
