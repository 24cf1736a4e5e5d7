import { describe, expect, it } from 'vitest';
import { noSplit } from '../../src/ml/histogram.js';
import { fillGoesLeft } from '../../src/ml/partition.js';
import { inKernelMemory } from './kernel-memory.js';

describe('fillGoesLeft', () => {
  const table = new Uint8Array(256).fill(7);

  it('sends bins up to the threshold left, and the missing bin by the learned direction', () => {
    const s = { ...noSplit(), feature: 0, bin: 2, missingLeft: true };
    expect(Array.from(fillGoesLeft(table, s, 5).subarray(0, 7))).toEqual([1, 1, 1, 0, 0, 1, 0]);
    expect(Array.from(fillGoesLeft(table, { ...s, missingLeft: false }, 5).subarray(0, 6))).toEqual([
      1, 1, 1, 0, 0, 0,
    ]);
    expect(table.every((v, b) => b < 3 || v === 0)).toBe(true);
  });

  it('sends the categories of a set split left', () => {
    const s = { ...noSplit(), feature: 0, leftBins: [0, 3] };
    expect(Array.from(fillGoesLeft(table, s, 4).subarray(0, 5))).toEqual([1, 0, 0, 1, 0]);
  });
});

describe('KernelMemory.partition', () => {
  it('partitions only the range, stably, for odd and even lengths', () => {
    for (const end of [8, 9]) {
      const { memory, views } = inKernelMemory({
        index: Uint32Array.from({ length: 9 }, (_, i) => i),
        bins: Uint8Array.from([0, 1, 0, 1, 1, 0, 0, 1, 1]),
        goesLeft: Uint8Array.from([1, 0]),
        scratch: new Uint32Array(9),
      });
      const { index, bins, goesLeft, scratch } = views;
      const mid = memory.partition(index, 1, end, bins, goesLeft, scratch);
      const left = [2, 5, 6];
      const right = [1, 3, 4, 7, 8].filter((r) => r < end);
      expect(mid).toBe(1 + left.length);
      expect(Array.from(index.subarray(0, end))).toEqual([0, ...left, ...right]);
      if (end === 8) expect(index[8]).toBe(8);
    }
  });

  it('handles a range that goes entirely to one side, and an empty one', () => {
    const { memory, views } = inKernelMemory({
      index: Uint32Array.from([4, 2, 7]),
      bins: new Uint8Array(8),
      allLeft: Uint8Array.from([1]),
      allRight: Uint8Array.from([0]),
      scratch: new Uint32Array(3),
    });
    const { index, bins, allLeft, allRight, scratch } = views;
    expect(memory.partition(index, 0, 3, bins, allLeft, scratch)).toBe(3);
    expect(memory.partition(index, 0, 3, bins, allRight, scratch)).toBe(0);
    expect(memory.partition(index, 2, 2, bins, allRight, scratch)).toBe(2);
    expect(Array.from(index)).toEqual([4, 2, 7]);
  });
});
