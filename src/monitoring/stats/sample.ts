/**
 * @module monitoring/stats/sample
 * Sample helpers shared by the tests: dropping missing values (NaN) and sorting, and sums that
 * stay accurate over a million terms (numpy sums pairwise; a compensated sum is at least as good,
 * so results agree with scipy's to ~1e-15 relative).
 */
import { sortFloat64 } from '../../ml/index.js';

/** The values that are not NaN, sorted ascending (a fresh array; the input is untouched). */
export function sortedPresent(values: ArrayLike<number>): Float64Array {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) n++;
  const out = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) out[k++] = values[i];
  return sortFloat64(out);
}

/** A Neumaier-compensated running sum. */
export class Sum {
  private s = 0;
  private c = 0;

  add(x: number): void {
    const t = this.s + x;
    // Past an infinity the compensation would be inf - inf.
    if (!Number.isFinite(t)) {
      this.s = t;
      return;
    }
    this.c += Math.abs(this.s) >= Math.abs(x) ? this.s - t + x : x - t + this.s;
    this.s = t;
  }

  get value(): number {
    return Number.isFinite(this.s) ? this.s + this.c : this.s;
  }
}

/** The population standard deviation (numpy `std`, ddof = 0) of NaN-free values. */
export function populationStd(values: ArrayLike<number>): number {
  const n = values.length;
  const total = new Sum();
  for (let i = 0; i < n; i++) total.add(values[i]);
  const mean = total.value / n;
  const squares = new Sum();
  for (let i = 0; i < n; i++) squares.add((values[i] - mean) ** 2);
  return Math.sqrt(squares.value / n);
}
