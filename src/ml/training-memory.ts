/**
 * @module ml/training-memory
 * Lays out one GBDT training in kernel memory: the slot rows, the bin columns, gradients, scores,
 * the row index and its partition scratch, the histogram pool and the split tables, all reserved
 * before the memory is created so that it never grows (see `KernelMemory`).
 */
import type { HistogramLayout } from './histogram.js';
import { histogramSlots, type SlotRows } from './slot-rows.js';
import { maxLiveHistograms } from './tree.js';
import { KernelMemory } from './wasm/kernels.js';

export interface TrainingMemory {
  memory: KernelMemory;
  slots: SlotRows;
  binColumns: Uint8Array[];
  /** Labels and sample weights per row. */
  y: Float64Array;
  w: Float64Array;
  /** Gradient and hessian per row, interleaved. */
  gh: Float64Array;
  /** Raw score per row. */
  raw: Float64Array;
  /** The rows a tree grows on (the first `sampleRows` entries). */
  index: Uint32Array;
  scratch: Uint32Array;
  pool: Float64Array[];
  goesLeft: Uint8Array[];
}

export interface TreeShape {
  maxLeaves: number;
  maxDepth: number;
  minSamplesLeaf: number;
}

/**
 * Copies the binned rows, labels `y` and weights `w` into a new kernel memory sized for trees of
 * `shape` on `sampleRows` rows.
 */
export function trainingMemory(
  layout: HistogramLayout,
  slots: SlotRows,
  binColumns: readonly Uint8Array[],
  y: Float64Array,
  w: Float64Array,
  shape: TreeShape,
  sampleRows: number,
): TrainingMemory {
  const n = y.length;
  const histSlots = histogramSlots(layout);
  const histCount = maxLiveHistograms(sampleRows, shape.maxLeaves, shape.maxDepth, shape.minSamplesLeaf);
  // A tree makes fewer splits than it has leaves, and fewer than a full tree of its depth.
  const tables = Math.min(shape.maxLeaves - 1, 2 ** shape.maxDepth - 1);
  const m = new KernelMemory();
  const rows =
    slots.kind === 'sparse'
      ? { a: m.reserve(4 * (n + 1)), b: m.reserve(4 * slots.cells.length) }
      : { a: m.reserve(slots.bins.length), b: m.reserve(4 * slots.offsets.length) };
  const at = {
    bins: binColumns.map(() => m.reserve(n)),
    y: m.reserve(8 * n),
    w: m.reserve(8 * n),
    gh: m.reserve(16 * n),
    raw: m.reserve(8 * n),
    index: m.reserve(4 * n),
    scratch: m.reserve(4 * n),
    pool: Array.from({ length: histCount }, () => m.reserve(8 * histSlots)),
    goesLeft: m.reserve(256 * tables),
  };
  m.commit();
  const copy = (at: number, values: Float64Array) => {
    const view = m.f64(at, n);
    view.set(values);
    return view;
  };
  let inMemory: SlotRows;
  if (slots.kind === 'sparse') {
    const rowStart = m.u32(rows.a, n + 1);
    rowStart.set(slots.rowStart);
    const cells = m.u32(rows.b, slots.cells.length);
    cells.set(slots.cells);
    inMemory = { kind: 'sparse', rowStart, cells, skipped: slots.skipped };
  } else {
    const bins = m.u8(rows.a, slots.bins.length);
    bins.set(slots.bins);
    const offsets = m.u32(rows.b, slots.offsets.length);
    offsets.set(slots.offsets);
    inMemory = { kind: 'dense', bins, features: slots.features, offsets };
  }
  return {
    memory: m,
    slots: inMemory,
    binColumns: binColumns.map((col, f) => {
      const view = m.u8(at.bins[f], n);
      view.set(col);
      return view;
    }),
    y: copy(at.y, y),
    w: copy(at.w, w),
    gh: m.f64(at.gh, 2 * n),
    raw: m.f64(at.raw, n),
    index: m.u32(at.index, n),
    scratch: m.u32(at.scratch, n),
    pool: at.pool.map((p) => m.f64(p, histSlots)),
    goesLeft: Array.from({ length: tables }, (_, k) => m.u8(at.goesLeft + 256 * k, 256)),
  };
}
