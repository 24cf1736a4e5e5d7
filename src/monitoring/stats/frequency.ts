/**
 * @module monitoring/stats/frequency
 * The tests Evidently runs on bucket counts: PSI and Jensen-Shannon over `binnedCounts`, the
 * chi-square goodness of fit of the current counts against the reference's proportions, and the
 * Z-test for two proportions. Each follows Evidently's stattest source line for line (psi.py,
 * jensenshannon.py, chisquare_stattest.py, z_stattest.py) and the scipy functions they call.
 */
import { binnedCounts, categoryCounts, type Values } from './counts.js';
import { Sum } from './sample.js';
import { chiSquareSf, normalCdf } from './special.js';

export interface PValueResult {
  statistic: number;
  pValue: number;
}

/** Shares of a total, with Evidently's zero fill: min_nonzero/1e6 when that is ≤ 1e-4, else 1e-4. */
function sharesFilled(counts: Float64Array, total: number): Float64Array {
  const shares = counts.map((c) => c / total);
  let min = Number.POSITIVE_INFINITY;
  for (const s of shares) if (s !== 0 && s < min) min = s;
  const fill = min <= 0.0001 ? min / 10 ** 6 : 0.0001;
  return shares.map((s) => (s === 0 ? fill : s));
}

/** The population stability index of current against reference (Evidently `psi`). */
export function psi(reference: Values, current: Values): number {
  const counts = binnedCounts(reference, current);
  const r = sharesFilled(counts.reference, reference.length);
  const c = sharesFilled(counts.current, current.length);
  const sum = new Sum();
  for (let i = 0; i < r.length; i++) sum.add((r[i] - c[i]) * Math.log(r[i] / c[i]));
  return sum.value;
}

/** scipy `rel_entr(x, y)`. */
const relEntr = (x: number, y: number): number =>
  x > 0 && y > 0 ? x * Math.log(x / y) : x === 0 && y >= 0 ? 0 : Number.POSITIVE_INFINITY;

/**
 * The Jensen-Shannon distance (natural log, scipy `distance.jensenshannon(p, q)` with base None)
 * between the binned shares, zero buckets left as they are (Evidently `jensenshannon`).
 */
export function jensenShannon(reference: Values, current: Values): number {
  const counts = binnedCounts(reference, current);
  const r = counts.reference.map((x) => x / reference.length);
  const c = counts.current.map((x) => x / current.length);
  let sr = 0;
  let sc = 0;
  for (let i = 0; i < r.length; i++) {
    sr += r[i];
    sc += c[i];
  }
  const sum = new Sum();
  for (let i = 0; i < r.length; i++) {
    const p = r[i] / sr;
    const q = c[i] / sc;
    const m = (p + q) / 2;
    sum.add(relEntr(p, m));
    sum.add(relEntr(q, m));
  }
  return Math.sqrt(sum.value / 2);
}

/**
 * Pearson's chi-square of the current counts per category against the reference's counts scaled
 * to the current size (Evidently `chisquare`, scipy `chisquare(f_obs, f_exp)`), df = categories - 1.
 * A category absent from the reference makes the statistic infinite and the p-value 0.
 */
export function chiSquare(reference: Values, current: Values): PValueResult {
  const counts = categoryCounts(reference, current);
  const scale = current.length / reference.length;
  const sum = new Sum();
  for (let i = 0; i < counts.reference.length; i++) {
    const expected = counts.reference[i] * scale;
    sum.add((counts.current[i] - expected) ** 2 / expected);
  }
  const statistic = sum.value;
  return { statistic, pValue: chiSquareSf(statistic, counts.reference.length - 1) };
}

const smallest = (values: ArrayLike<number | string>): number | string => {
  let min = values[0];
  for (let i = 1; i < values.length; i++) if (values[i] < min) min = values[i];
  return min;
};

const sameSingleValue = (a: Values, b: Values): boolean => {
  const v = a[0];
  for (let i = 0; i < a.length; i++) if (a[i] !== v) return false;
  for (let i = 0; i < b.length; i++) if (b[i] !== v) return false;
  return true;
};

/**
 * The two-sided Z-test for the difference of two proportions (Evidently `z`): the proportion is
 * "not the smallest value of reference ∪ current", pooled under the null. Both samples holding
 * one and the same value gives p = 1.
 */
export function zTest(reference: Values, current: Values): PValueResult {
  if (sameSingleValue(reference, current)) return { statistic: 0, pValue: 1 };
  const key = smallest([smallest(reference), smallest(current)]);
  const share = (values: Values) => {
    let other = 0;
    for (let i = 0; i < values.length; i++) if (values[i] !== key) other++;
    return other / values.length;
  };
  const n1 = reference.length;
  const n2 = current.length;
  const p1 = share(reference);
  const p2 = share(current);
  const P = (p1 * n1 + p2 * n2) / (n1 + n2);
  const z = (p1 - p2) / Math.sqrt(P * (1 - P) * (1 / n1 + 1 / n2));
  return { statistic: z, pValue: 2 * (1 - normalCdf(Math.abs(z))) };
}
