import { describe, expect, it } from 'vitest';
import { fastExp } from '../../src/ml/fast-exp.js';
import { Rng } from '../../src/ml/random.js';

describe('fastExp', () => {
  it('agrees with Math.exp to a few ulp across the finite range', () => {
    const rng = new Rng(3);
    let worst = 0;
    for (let i = 0; i < 200_000; i++) {
      const x = i % 2 === 0 ? (rng.next() - 0.5) * 1400 : (rng.next() - 0.5) * 40;
      const want = Math.exp(x);
      if (want === 0 || !Number.isFinite(want)) continue;
      worst = Math.max(worst, Math.abs(fastExp(x) - want) / want);
    }
    expect(worst).toBeLessThan(8 * Number.EPSILON);
    expect(fastExp(0)).toBe(1);
  });

  it('handles the edges as Math.exp does', () => {
    expect(fastExp(Number.NaN)).toBeNaN();
    expect(fastExp(800)).toBe(Number.POSITIVE_INFINITY);
    expect(fastExp(-800)).toBe(0);
    expect(fastExp(-707.9) / Math.exp(-707.9)).toBeCloseTo(1, 12);
    expect(fastExp(708.9) / Math.exp(708.9)).toBeCloseTo(1, 12);
  });
});
