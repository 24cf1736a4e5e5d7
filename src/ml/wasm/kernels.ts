/**
 * @module ml/wasm/kernels
 * The trainers' hot loops (`kernels.wat`: the GBDT's, and logistic regression's two passes) and
 * the memory they work in. A training reserves
 * every buffer the loops touch (rows, bins, gradients, scores, histograms) up front, commits one
 * WebAssembly memory of exactly that size, and takes typed-array views of it: the memory never
 * grows afterwards, so the views stay valid for the whole training (growing would detach them).
 */
import { KeelError } from '../../core/index.js';
import { KERNELS_WASM_BASE64 } from './kernels-binary.js';

/** The dense histogram kernels: (hist, bins, features, offsets, ip, iend, gh). */
type DenseAdd = (
  hist: number,
  bins: number,
  features: number,
  offsets: number,
  ip: number,
  iend: number,
  gh: number,
) => void;

interface KernelExports {
  logistic_gradients(
    n: number,
    y: number,
    w: number,
    raw: number,
    gh: number,
    fraction: number,
    out: number,
  ): void;
  add_rows(hist: number, rowStart: number, cells: number, ip: number, iend: number, gh: number): void;
  add_rows_counted(hist: number, rowStart: number, cells: number, ip: number, iend: number, gh: number): void;
  add_rows_dense: DenseAdd;
  add_rows_dense_counted: DenseAdd;
  sum_rows(ip: number, iend: number, gh: number, out: number): void;
  subtract(parent: number, child: number, bytes: number): void;
  partition(ip: number, iend: number, bins: number, goesLeft: number, scratch: number): number;
  add_to_range(ip: number, iend: number, raw: number, v: number): void;
  add_by_side(
    ip: number,
    iend: number,
    bins: number,
    goesLeft: number,
    raw: number,
    left: number,
    right: number,
  ): void;
  lr_scores(z: number, n: number, d: number, start: number, len: number, theta: number, raw: number): void;
  lr_gradient(
    z: number,
    n: number,
    d: number,
    start: number,
    len: number,
    residual: number,
    grad: number,
  ): void;
}

const PAGE_BYTES = 65_536;
/** wasm32's ceiling: 65,536 pages, 4 GiB. */
const MAX_PAGES = 65_536;

let compiled: WebAssembly.Module | undefined;

function kernelsModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
  return compiled;
}

const align16 = (n: number): number => Math.ceil(n / 16) * 16;

/** 2^(j / 64) for j = 0..63: the exponential kernel's table. */
const FRACTION = Float64Array.from({ length: 64 }, (_, j) => 2 ** (j / 64));

/**
 * One training's memory. `reserve` byte ranges first, then `commit` once; views and kernel calls
 * only after. Every array passed to a kernel must be a view of this memory.
 */
export class KernelMemory {
  /** Address 0 stays unused, so no buffer starts at the null address. */
  private top = 16;
  private memory: WebAssembly.Memory | undefined;
  private exports: KernelExports | undefined;
  /** The exponential's table, and three slots the gradient kernel returns its loss terms in. */
  private readonly fraction = this.reserve(FRACTION.byteLength);
  private readonly out = this.reserve(24);
  /** The last row of an odd count and a neutral partner, for the gradient kernel's row pairs. */
  private readonly tail = {
    y: this.reserve(16),
    w: this.reserve(16),
    raw: this.reserve(16),
    gh: this.reserve(32),
  };

  /** Reserves `bytes` (16-byte aligned) and returns the range's address. */
  reserve(bytes: number): number {
    if (this.memory) throw new KeelError('INTERNAL_ERROR', 'kernel memory reserved after commit');
    const at = this.top;
    this.top = align16(at + bytes);
    return at;
  }

  /**
   * Creates the memory for everything reserved.
   * @throws KeelError INVALID_PARAMETER_VALUE when it exceeds WebAssembly's 4 GiB, EXECUTION_FAILED
   *   when the system cannot provide it.
   */
  commit(): void {
    const pages = Math.ceil(this.top / PAGE_BYTES);
    if (pages > MAX_PAGES)
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `training needs ${(this.top / 2 ** 30).toFixed(1)} GiB of working memory, more than the ` +
          `trainer's 4 GiB: use fewer rows or features, or lower maxLeaves/maxDepth`,
      );
    try {
      this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    } catch (cause) {
      throw new KeelError(
        'EXECUTION_FAILED',
        `cannot allocate the training's ${(this.top / 2 ** 20).toFixed(0)} MiB of working memory`,
        { cause },
      );
    }
    const instance = new WebAssembly.Instance(kernelsModule(), { keel: { memory: this.memory } });
    this.exports = instance.exports as unknown as KernelExports;
    this.f64(this.fraction, FRACTION.length).set(FRACTION);
  }

  f64(at: number, length: number): Float64Array {
    return new Float64Array(this.buffer(), at, length);
  }

  u32(at: number, length: number): Uint32Array {
    return new Uint32Array(this.buffer(), at, length);
  }

  u8(at: number, length: number): Uint8Array {
    return new Uint8Array(this.buffer(), at, length);
  }

  /**
   * Fills `gh` with the weighted log-loss gradient and hessian at the raw scores, interleaved per
   * row, and returns the unweighted mean log loss there (the same exponentials serve both).
   */
  logisticGradients(y: Float64Array, w: Float64Array, raw: Float64Array, gh: Float64Array): number {
    const k = this.kernels(y, w, raw, gh);
    const n = raw.length;
    const even = n & ~1;
    k.logistic_gradients(
      even,
      y.byteOffset,
      w.byteOffset,
      raw.byteOffset,
      gh.byteOffset,
      this.fraction,
      this.out,
    );
    let [sum, product, octaves] = this.f64(this.out, 3);
    if (even < n) {
      // The kernel takes rows in pairs: the last row goes with a partner that adds nothing
      // (its loss term is log(1 + e^-1e300) = 0 and its weight 0).
      const t = this.tail;
      this.f64(t.y, 2).set([y[even], 1]);
      this.f64(t.w, 2).set([w[even], 0]);
      this.f64(t.raw, 2).set([raw[even], 1e300]);
      k.logistic_gradients(2, t.y, t.w, t.raw, t.gh, this.fraction, this.out);
      gh.set(this.f64(t.gh, 2), 2 * even);
      const last = this.f64(this.out, 3);
      sum += last[0];
      product *= last[1];
      octaves += last[2];
    }
    return (sum + Math.log(product) + octaves * Math.LN2) / n;
  }

  /** Adds each row's (gradient, hessian) to the slots its cells name; `counted` also adds 1 to each row-count slot. */
  addRows(
    hist: Float64Array,
    rowStart: Uint32Array,
    cells: Uint32Array,
    index: Uint32Array,
    start: number,
    end: number,
    gh: Float64Array,
    counted: boolean,
  ): void {
    const k = this.kernels(hist, rowStart, cells, index, gh);
    const add = counted ? k.add_rows_counted : k.add_rows;
    const at = index.byteOffset;
    add(hist.byteOffset, rowStart.byteOffset, cells.byteOffset, at + 4 * start, at + 4 * end, gh.byteOffset);
  }

  /**
   * As `addRows` for the dense layout: row r's bins are `bins[r · features ..]`, feature f's slot
   * of bin b at byte `offsets[f]` plus b slots.
   */
  addRowsDense(
    hist: Float64Array,
    bins: Uint8Array,
    features: number,
    offsets: Uint32Array,
    index: Uint32Array,
    start: number,
    end: number,
    gh: Float64Array,
    counted: boolean,
  ): void {
    const k = this.kernels(hist, bins, offsets, index, gh);
    const add = counted ? k.add_rows_dense_counted : k.add_rows_dense;
    const at = index.byteOffset;
    add(
      hist.byteOffset,
      bins.byteOffset,
      features,
      offsets.byteOffset,
      at + 4 * start,
      at + 4 * end,
      gh.byteOffset,
    );
  }

  /** The sums of gradient and hessian over the rows of `index[start..end)`. */
  sumRows(index: Uint32Array, start: number, end: number, gh: Float64Array): [g: number, h: number] {
    const at = index.byteOffset;
    this.kernels(index, gh).sum_rows(at + 4 * start, at + 4 * end, gh.byteOffset, this.out);
    const out = this.f64(this.out, 2);
    return [out[0], out[1]];
  }

  /** `parent -= child` over every slot (both as long, an even number of slots). */
  subtract(parent: Float64Array, child: Float64Array): void {
    this.kernels(parent, child).subtract(parent.byteOffset, child.byteOffset, parent.byteLength);
  }

  /**
   * Stable in-place partition of `index[start..end)`: rows whose bin `goesLeft` first; returns
   * the first right position. `scratch` needs room for the range.
   */
  partition(
    index: Uint32Array,
    start: number,
    end: number,
    bins: Uint8Array,
    goesLeft: Uint8Array,
    scratch: Uint32Array,
  ): number {
    const at = index.byteOffset;
    const mid = this.kernels(index, bins, goesLeft, scratch).partition(
      at + 4 * start,
      at + 4 * end,
      bins.byteOffset,
      goesLeft.byteOffset,
      scratch.byteOffset,
    );
    return (mid - at) / 4;
  }

  /** `raw[r] += v` for the rows of `index[start..end)`. */
  addToRange(index: Uint32Array, start: number, end: number, raw: Float64Array, v: number): void {
    const at = index.byteOffset;
    this.kernels(index, raw).add_to_range(at + 4 * start, at + 4 * end, raw.byteOffset, v);
  }

  /** `raw[r] += goesLeft[bins[r]] ? left : right` for the rows of `index[start..end)`. */
  addBySide(
    index: Uint32Array,
    start: number,
    end: number,
    bins: Uint8Array,
    goesLeft: Uint8Array,
    raw: Float64Array,
    left: number,
    right: number,
  ): void {
    const at = index.byteOffset;
    this.kernels(index, bins, goesLeft, raw).add_by_side(
      at + 4 * start,
      at + 4 * end,
      bins.byteOffset,
      goesLeft.byteOffset,
      raw.byteOffset,
      left,
      right,
    );
  }

  /**
   * `raw[i] = theta[d] + Σ_a theta[a] z[a n + start + i]` for i < len: the raw scores of a block of
   * rows of the column-major matrix `z` (n rows, d columns).
   */
  lrScores(
    z: Float64Array,
    n: number,
    start: number,
    len: number,
    theta: Float64Array,
    raw: Float64Array,
  ): void {
    const d = theta.length - 1;
    this.kernels(z, theta, raw).lr_scores(z.byteOffset, n, d, start, len, theta.byteOffset, raw.byteOffset);
  }

  /** `grad[a] += Σ_i residual[i] z[a n + start + i]` for i < len and every column a < grad.length. */
  lrGradient(
    z: Float64Array,
    n: number,
    start: number,
    len: number,
    residual: Float64Array,
    grad: Float64Array,
  ): void {
    this.kernels(z, residual, grad).lr_gradient(
      z.byteOffset,
      n,
      grad.length,
      start,
      len,
      residual.byteOffset,
      grad.byteOffset,
    );
  }

  private buffer(): ArrayBuffer {
    if (!this.memory) throw new KeelError('INTERNAL_ERROR', 'kernel memory used before commit');
    return this.memory.buffer;
  }

  /** The exports, once every array is checked to be a view of this memory. */
  private kernels(...views: ArrayBufferView[]): KernelExports {
    const buffer = this.buffer();
    for (const v of views)
      if (v.buffer !== buffer) throw new KeelError('INTERNAL_ERROR', 'kernel argument outside kernel memory');
    return this.exports as KernelExports;
  }
}
