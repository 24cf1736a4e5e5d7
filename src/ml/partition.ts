/**
 * @module ml/partition
 * Moving a node's rows to its children. Every node owns a contiguous range of one row-index
 * array; a split partitions that range in place, stably, so each child's rows stay in increasing
 * order and the histogram loop reads the row-major bins front to back.
 */
import type { Split } from './histogram.js';

/**
 * Which bins of the split feature go left (1) or right (0), missing bin (`missingBin`) included:
 * one table lookup per row serves both threshold and categorical splits.
 */
export function goesLeftTable(s: Split, missingBin: number): Uint8Array {
  const table = new Uint8Array(missingBin + 1);
  if (s.leftBins) for (const b of s.leftBins) table[b] = 1;
  else table.fill(1, 0, s.bin + 1);
  table[missingBin] = s.missingLeft ? 1 : 0;
  return table;
}

/**
 * Stable in-place partition of `index[start..end)`: rows whose bin `goesLeft` first; returns the
 * first right position. `scratch` needs room for the range.
 */
export function partitionRange(
  index: Uint32Array,
  start: number,
  end: number,
  bins: Uint8Array,
  goesLeft: Uint8Array,
  scratch: Uint32Array,
): number {
  const l = splitRange(index, start, end, bins, goesLeft, scratch);
  index.set(scratch.subarray(0, end - l), l);
  return l;
}

/**
 * Moves the rows of `index[start..end)` that go left to its front, in order, and the others to
 * `scratch`; returns the end of the left rows. Only the loop lives here: V8 compiles a hot loop on
 * stack before the code after it has run, and that code then deoptimised it on every call.
 */
function splitRange(
  index: Uint32Array,
  start: number,
  end: number,
  bins: Uint8Array,
  goesLeft: Uint8Array,
  scratch: Uint32Array,
): number {
  let l = start;
  let r = 0;
  // Branch-free: the side is data-dependent, so a branch would mispredict about half the time.
  // Two rows per step halves V8's per-iteration checks of the four arrays. Reading both rows
  // before writing is safe: l never passes the row being read.
  let i = start;
  for (; i + 1 < end; i += 2) {
    const a = index[i];
    const b = index[i + 1];
    const aLeft = goesLeft[bins[a]];
    const bLeft = goesLeft[bins[b]];
    index[l] = a;
    scratch[r] = a;
    l += aLeft;
    r += 1 - aLeft;
    index[l] = b;
    scratch[r] = b;
    l += bLeft;
    r += 1 - bLeft;
  }
  if (i < end) {
    const a = index[i];
    index[l] = a;
    scratch[r] = a;
    l += goesLeft[bins[a]];
  }
  return l;
}
