/**
 * @module ml/radix-sort
 * Sorting float32 values for the quantile bins. `TypedArray.prototype.sort` took about 110 ns a
 * value here (3.6 ms for a 32k-row column, a tenth of GBDT training on the adult data); an LSD
 * radix sort over the values' bits, three passes of 11 bits, takes a fraction of that and gives
 * the same order (-0 before +0). NaN must be filtered out beforehand.
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
