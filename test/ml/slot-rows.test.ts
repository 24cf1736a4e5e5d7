import { describe, expect, it } from 'vitest';
import { buildHistogram, histogramLayout } from '../../src/ml/histogram.js';
import { Rng } from '../../src/ml/random.js';
import { histogramSlots, type SparseRows, slotRows } from '../../src/ml/slot-rows.js';
import { inKernelMemory } from './kernel-memory.js';

describe('slotRows and buildHistogram', () => {
  const rng = new Rng(8);
  const n = 500;
  // Feature 0: mostly bin 2; feature 1 (categorical): mostly bin 0; feature 2: uniform, some missing (bin 4).
  const bins = [
    Uint8Array.from({ length: n }, () => (rng.next() < 0.8 ? 2 : rng.int(3))),
    Uint8Array.from({ length: n }, () => (rng.next() < 0.7 ? 0 : rng.int(5))),
    Uint8Array.from({ length: n }, () => (rng.next() < 0.1 ? 4 : rng.int(4))),
  ];
  const binCounts = Int32Array.from([3, 5, 4]);
  const gh = Float64Array.from({ length: 2 * n }, (_, i) => (i % 2 === 0 ? rng.next() - 0.5 : rng.next()));

  it('leaves out the most frequent value bin of every feature, categorical ones included', () => {
    const layout = histogramLayout(binCounts, false, Uint8Array.from([0, 1, 0]));
    const rows = slotRows(bins, layout) as SparseRows;
    expect(rows.kind).toBe('sparse');
    expect(Array.from(rows.skipped.subarray(0, 2))).toEqual([2, 0]);
    // The sink: the first slot past the features' bins, as a byte offset.
    const sink = layout.offsets[3] * layout.stride * 8;
    let kept = 0;
    for (let r = 0; r < n; r++) {
      const cells = rows.cells.subarray(rows.rowStart[r], rows.rowStart[r + 1]);
      const real = [bins[0][r] !== 2, bins[1][r] !== 0, bins[2][r] !== rows.skipped[2]].filter(
        Boolean,
      ).length;
      // The kept values, then one sink cell when their count is odd.
      expect(cells.length).toBe(real + (real % 2));
      expect(cells.filter((c) => c === sink).length).toBe(real % 2);
      kept += real;
    }
    expect(kept).toBeLessThan(1.5 * n);
  });

  for (const withCounts of [false, true]) {
    it(`gives the full histogram of a row subset (${withCounts ? 'with' : 'without'} row counts)`, () => {
      const layout = histogramLayout(binCounts, withCounts, Uint8Array.from([0, 1, 0]));
      const stride = layout.stride;
      const rows = slotRows(bins, layout) as SparseRows;
      const index = Uint32Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 !== 0);
      let g = 0;
      let h = 0;
      const want = new Float64Array(layout.offsets[3] * stride);
      for (const r of index) {
        g += gh[2 * r];
        h += gh[2 * r + 1];
        for (let f = 0; f < 3; f++) {
          const s = (layout.offsets[f] + bins[f][r]) * stride;
          want[s] += gh[2 * r];
          want[s + 1] += gh[2 * r + 1];
          if (withCounts) want[s + 2] += 1;
        }
      }
      // Room for the sink slot past the bins; it is not compared.
      const { memory, views } = inKernelMemory({
        got: new Float64Array(histogramSlots(layout)),
        rowStart: rows.rowStart,
        cells: rows.cells,
        index,
        gh,
      });
      const got = views.got;
      const inMemory = {
        kind: 'sparse' as const,
        rowStart: views.rowStart,
        cells: views.cells,
        skipped: rows.skipped,
      };
      buildHistogram(memory, got, layout, inMemory, views.index, 0, index.length, views.gh, g, h);
      for (let s = 0; s < want.length; s++) expect(got[s]).toBeCloseTo(want[s], 10);
      // A sub-range: the kernel reads only index[start..end).
      got.fill(0);
      buildHistogram(
        memory,
        got,
        layout,
        inMemory,
        views.index,
        5,
        6,
        views.gh,
        gh[2 * index[5]],
        gh[2 * index[5] + 1],
      );
      for (let f = 0; f < 3; f++) {
        const s = (layout.offsets[f] + bins[f][index[5]]) * stride;
        expect(got[s]).toBe(gh[2 * index[5]]);
        if (withCounts) expect(got[s + 2]).toBe(1);
      }
    });
  }

  for (const withCounts of [false, true]) {
    it(`lays rows of rarely repeated bins out densely, a byte per value (${withCounts ? 'with' : 'without'} row counts)`, () => {
      // Uniform bins over 60 values and a feature with missing values (its bin 60): under a
      // quarter of the cells would be left out, so every value is kept, a byte each.
      const counts = Int32Array.from([60, 60, 7]);
      const dense = [
        Uint8Array.from({ length: n }, () => rng.int(60)),
        Uint8Array.from({ length: n }, () => (rng.next() < 0.2 ? 60 : rng.int(60))),
        Uint8Array.from({ length: n }, () => rng.int(7)),
      ];
      const layout = histogramLayout(counts, withCounts);
      const stride = layout.stride;
      const rows = slotRows(dense, layout);
      if (rows.kind !== 'dense') throw new Error('expected the dense layout');
      expect(rows.bins.length).toBe(3 * n);
      expect(Array.from(rows.bins.subarray(3 * 7, 3 * 8))).toEqual([dense[0][7], dense[1][7], dense[2][7]]);
      const index = Uint32Array.from({ length: n }, (_, i) => i).filter((i) => i % 4 !== 1);
      const want = new Float64Array(histogramSlots(layout));
      for (const r of index)
        for (let f = 0; f < 3; f++) {
          const s = (layout.offsets[f] + dense[f][r]) * stride;
          want[s] += gh[2 * r];
          want[s + 1] += gh[2 * r + 1];
          if (withCounts) want[s + 2] += 1;
        }
      const { memory, views } = inKernelMemory({
        got: new Float64Array(histogramSlots(layout)),
        bins: rows.bins,
        offsets: rows.offsets,
        index,
        gh,
      });
      const inMemory = { kind: 'dense' as const, bins: views.bins, features: 3, offsets: views.offsets };
      buildHistogram(memory, views.got, layout, inMemory, views.index, 0, index.length, views.gh, 0, 0);
      // Added in the same order as the loop above: equal to the bit.
      expect(Array.from(views.got)).toEqual(Array.from(want));
    });
  }
});
