/**
 * @module ml/radix-sort
 * Sorting floats by their bits. For the quantile bins' float32 values,
 * `TypedArray.prototype.sort` took about 110 ns a value here (3.6 ms for a 32k-row column, a
 * tenth of GBDT training on the adult data); an LSD radix sort over the values' bits, three
 * passes of 11 bits, takes a fraction of that and gives the same order (-0 before +0). NaN must
 * be filtered out beforehand.
 */

const BITS = 11;
const BUCKETS = 1 << BITS;
const MASK = BUCKETS - 1;

/** The first `count` values of `values` (no NaN), sorted ascending, as a new array. */
export function sortFloat32(values: Float32Array, count: number): Float32Array {
  let keys = new Uint32Array(count);
  const bits = new Uint32Array(values.buffer, values.byteOffset, count);
  // Flip negative numbers entirely and positive ones' sign bit: unsigned order becomes float order.
  for (let i = 0; i < count; i++) {
    const b = bits[i];
    keys[i] = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
  }
  let spare = new Uint32Array(count);
  const counts = new Uint32Array(BUCKETS);
  for (let shift = 0; shift < 32; shift += BITS) {
    countingPass(keys, spare, counts, shift);
    [keys, spare] = [spare, keys];
  }
  for (let i = 0; i < count; i++) {
    const k = keys[i];
    keys[i] = k & 0x80000000 ? k & 0x7fffffff : ~k >>> 0;
  }
  return new Float32Array(keys.buffer, 0, count);
}

/** One stable counting-sort pass of `from` into `to` on the 11 key bits at `shift`. */
function countingPass(from: Uint32Array, to: Uint32Array, counts: Uint32Array, shift: number): void {
  counts.fill(0);
  for (let i = 0; i < from.length; i++) counts[(from[i] >>> shift) & MASK]++;
  let sum = 0;
  for (let b = 0; b < BUCKETS; b++) {
    const c = counts[b];
    counts[b] = sum;
    sum += c;
  }
  for (let i = 0; i < from.length; i++) {
    const k = from[i];
    to[counts[(k >>> shift) & MASK]++] = k;
  }
}

const WIDE_BITS = 16;
const WIDE_BUCKETS = 1 << WIDE_BITS;
/** Below this many values the built-in sort wins (the passes clear and sum 4 x 64k counters). */
const WIDE_MIN = 32_768;

/**
 * `values` (no NaN) sorted ascending in place, and returned: the same order as
 * `Float64Array.prototype.sort` (-0 before +0) in about 60% of its time from 32k values on
 * (the monitors sort every score of a window and every sampled feature). An LSD radix sort
 * over the 64 bits as two 32-bit halves, four passes of 16 bits; a pass whose digit is the same
 * for every value is skipped.
 */
export function sortFloat64(values: Float64Array): Float64Array {
  const n = values.length;
  if (n < WIDE_MIN) return values.sort();
  // Little-endian words: the low half of value i at 2i, the high half (sign, exponent) at 2i + 1.
  const words = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
  let lo = new Uint32Array(n);
  let hi = new Uint32Array(n);
  const counts = new Uint32Array(4 * WIDE_BUCKETS);
  for (let i = 0; i < n; i++) {
    let l = words[2 * i];
    let h = words[2 * i + 1];
    // Negative numbers flipped whole, positive ones' sign bit set: unsigned order is float order.
    if (h & 0x80000000) {
      h = ~h >>> 0;
      l = ~l >>> 0;
    } else h = (h | 0x80000000) >>> 0;
    lo[i] = l;
    hi[i] = h;
    counts[l & 0xffff]++;
    counts[WIDE_BUCKETS + (l >>> 16)]++;
    counts[2 * WIDE_BUCKETS + (h & 0xffff)]++;
    counts[3 * WIDE_BUCKETS + (h >>> 16)]++;
  }
  let loSpare = new Uint32Array(n);
  let hiSpare = new Uint32Array(n);
  for (let pass = 0; pass < 4; pass++) {
    const base = pass * WIDE_BUCKETS;
    if (!prefixSums(counts, base, n)) continue;
    widePass(pass < 2 ? lo : hi, lo, hi, loSpare, hiSpare, counts, base, (pass & 1) * WIDE_BITS);
    [lo, loSpare] = [loSpare, lo];
    [hi, hiSpare] = [hiSpare, hi];
  }
  for (let i = 0; i < n; i++) {
    let l = lo[i];
    let h = hi[i];
    if (h & 0x80000000) h = (h & 0x7fffffff) >>> 0;
    else {
      h = ~h >>> 0;
      l = ~l >>> 0;
    }
    words[2 * i] = l;
    words[2 * i + 1] = h;
  }
  return values;
}

/** Turns the counts of one digit into starting offsets; false when one bucket holds all `n`. */
function prefixSums(counts: Uint32Array, base: number, n: number): boolean {
  let sum = 0;
  for (let b = base; b < base + WIDE_BUCKETS; b++) {
    const c = counts[b];
    if (c === n) return false;
    counts[b] = sum;
    sum += c;
  }
  return true;
}

/** One stable pass moving both halves of every key by the 16-bit digit of `digits` at `shift`. */
function widePass(
  digits: Uint32Array,
  lo: Uint32Array,
  hi: Uint32Array,
  loTo: Uint32Array,
  hiTo: Uint32Array,
  counts: Uint32Array,
  base: number,
  shift: number,
): void {
  for (let i = 0; i < digits.length; i++) {
    const at = counts[base + ((digits[i] >>> shift) & 0xffff)]++;
    loTo[at] = lo[i];
    hiTo[at] = hi[i];
  }
}
