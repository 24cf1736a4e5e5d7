import { describe, expect, it } from 'vitest';
import { sortFloat32, sortFloat64 } from '../../src/ml/radix-sort.js';
import { Rng } from '../../src/ml/random.js';

describe('sortFloat32', () => {
  const rng = new Rng(4);
  const cases: Record<string, () => number> = {
    'wide signed range': () => (rng.next() - 0.5) * 1e30,
    'few distinct integers': () => Math.floor(rng.next() * 7) - 3,
    'signed zeros and infinities': () =>
      [-0, 0, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY][rng.int(4)],
  };
  for (const [name, draw] of Object.entries(cases)) {
    it(`orders ${name} exactly as TypedArray sort does, using only the first count values`, () => {
      const values = Float32Array.from({ length: 3001 }, draw);
      const got = sortFloat32(values, 3000);
      const want = values.slice(0, 3000).sort();
      expect(got).toHaveLength(3000);
      for (let i = 0; i < want.length; i++) expect(Object.is(got[i], want[i])).toBe(true);
    });
  }

  it('sorts an empty prefix', () => {
    expect(sortFloat32(new Float32Array(4), 0)).toHaveLength(0);
  });
});

describe('sortFloat64', () => {
  const rng = new Rng(5);
  const cases: Record<string, () => number> = {
    'wide signed range': () => (rng.next() - 0.5) * 1e300,
    'values differing only in the low bits': () => 1 + rng.int(1 << 20) * Number.EPSILON,
    'few distinct integers': () => Math.floor(rng.next() * 7) - 3,
    'signed zeros, subnormals and infinities': () =>
      [-0, 0, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 5e-324, -5e-324][rng.int(6)],
    'one value': () => 0.25,
  };
  for (const [name, draw] of Object.entries(cases))
    for (const length of [100, 50_000]) {
      it(`orders ${length} values of ${name} in place exactly as TypedArray sort does`, () => {
        const values = Float64Array.from({ length }, draw);
        const want = values.slice().sort();
        const got = sortFloat64(values);
        expect(got).toBe(values);
        expect(want.findIndex((w, i) => !Object.is(got[i], w))).toBe(-1);
      });
    }

  it('sorts a view into a larger buffer without touching the rest', () => {
    const all = Float64Array.from({ length: 40_002 }, (_, i) => 40_002 - i);
    sortFloat64(all.subarray(1, 40_001));
    expect([all[0], all[1], all[40_000], all[40_001]]).toEqual([40_002, 2, 40_001, 1]);
  });
});
