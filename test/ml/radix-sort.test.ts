import { describe, expect, it } from 'vitest';
import { sortFloat32 } from '../../src/ml/radix-sort.js';
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
