/**
 * @module ml/partition
 * Which side of a split a row goes to. Every node owns a contiguous range of one row-index array;
 * a split partitions that range in place, stably (`KernelMemory.partition`), so each child's rows
 * stay in increasing order and the histogram kernel reads the row-major bins front to back.
 */
import type { Split } from './histogram.js';

/**
 * Fills `table` (256 entries) with which bins of the split feature go left (1) or right (0),
 * missing bin (`missingBin`) included: one lookup per row serves both threshold and categorical
 * splits, in the partition and score-update kernels.
 */
export function fillGoesLeft(table: Uint8Array, s: Split, missingBin: number): Uint8Array {
  table.fill(0);
  if (s.leftBins) for (const b of s.leftBins) table[b] = 1;
  else table.fill(1, 0, s.bin + 1);
  table[missingBin] = s.missingLeft ? 1 : 0;
  return table;
}
