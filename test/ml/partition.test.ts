import { describe, expect, it } from 'vitest';
import { noSplit } from '../../src/ml/histogram.js';
import { goesLeftTable, partitionRange } from '../../src/ml/partition.js';

describe('goesLeftTable', () => {
  it('sends bins up to the threshold left, and the missing bin by the learned direction', () => {
    const s = { ...noSplit(), feature: 0, bin: 2, missingLeft: true };
    expect(Array.from(goesLeftTable(s, 5))).toEqual([1, 1, 1, 0, 0, 1]);
    expect(Array.from(goesLeftTable({ ...s, missingLeft: false }, 5))).toEqual([1, 1, 1, 0, 0, 0]);
  });

  it('sends the categories of a set split left', () => {
    const s = { ...noSplit(), feature: 0, leftBins: [0, 3] };
    expect(Array.from(goesLeftTable(s, 4))).toEqual([1, 0, 0, 1, 0]);
  });
});

describe('partitionRange', () => {
  it('partitions only the range, stably, for odd and even lengths', () => {
    const bins = Uint8Array.from([0, 1, 0, 1, 1, 0, 0, 1, 1]);
    const goesLeft = Uint8Array.from([1, 0]);
    for (const end of [8, 9]) {
      const index = Uint32Array.from({ length: 9 }, (_, i) => i);
      const mid = partitionRange(index, 1, end, bins, goesLeft, new Uint32Array(9));
      const left = [2, 5, 6];
      const right = [1, 3, 4, 7, 8].filter((r) => r < end);
      expect(mid).toBe(1 + left.length);
      expect(Array.from(index.subarray(0, end))).toEqual([0, ...left, ...right]);
      if (end === 8) expect(index[8]).toBe(8);
    }
  });

  it('handles a range that goes entirely to one side', () => {
    const index = Uint32Array.from([4, 2, 7]);
    const bins = new Uint8Array(8);
    expect(partitionRange(index, 0, 3, bins, Uint8Array.from([1]), new Uint32Array(3))).toBe(3);
    expect(partitionRange(index, 0, 3, bins, Uint8Array.from([0]), new Uint32Array(3))).toBe(0);
    expect(Array.from(index)).toEqual([4, 2, 7]);
  });
});
