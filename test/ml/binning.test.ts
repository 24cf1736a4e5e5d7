import { describe, expect, it } from 'vitest';
import { binColumn, binOf, fitBinBounds } from '../../src/ml/binning.js';
import { Rng } from '../../src/ml/index.js';

describe('binColumn', () => {
  it('bins every value as binOf does: bounds themselves, between them, beyond them, NaN, ±Infinity', () => {
    const rng = new Rng(3);
    for (const distinct of [1, 2, 7, 254, 255, 5000]) {
      const values = Float64Array.from({ length: 4000 }, () => Math.floor(rng.next() * distinct) / 7 - 3);
      const bounds = fitBinBounds(values, 255);
      const probe = Float64Array.from([
        ...values,
        ...bounds,
        ...bounds.map((b) => b + 1e-9),
        ...bounds.map((b) => b - 1e-9),
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        1e300,
      ]);
      const bins = binColumn(probe, bounds);
      const want = Uint8Array.from(probe, (v) => binOf(v, bounds));
      expect(bins).toEqual(want);
      expect(bins[probe.length - 4]).toBe(bounds.length);
    }
  });

  it('puts everything in bin 0 for a column without bounds (all missing)', () => {
    const bounds = fitBinBounds(Float64Array.from([Number.NaN, Number.NaN]), 255);
    expect(bounds.length).toBe(0);
    expect(binColumn(Float64Array.from([Number.NaN, 1]), bounds)).toEqual(Uint8Array.from([0, 0]));
  });
});
