/**
 * @module monitoring/stats/ks
 * The two-sample Kolmogorov-Smirnov test, two-sided, as scipy's `ks_2samp(method='auto')`
 * computes it (scipy/stats/_stats_py.py and _stats_pythran.py): exact p-values when both samples
 * have at most 10,000 values (Hodges' lattice-path counts, with Viehmann's recursion for unequal
 * sizes), otherwise `kstwo.sf(D, round(m·n/(m+n)))`; an exact computation that fails numerically
 * falls back to the asymptotic one, as scipy does.
 */
import { kolmogorovSf } from './kolmogorov.js';
import { sortedPresent } from './sample.js';

export interface KsResult {
  /** D = sup |F_ref - F_cur|; in exact mode the lattice value h / lcm(n1, n2), as scipy returns it. */
  statistic: number;
  pValue: number;
  method: 'exact' | 'asymp';
}

const MAX_AUTO_N = 10000;

const gcd = (a: number, b: number): number => {
  let x = a;
  let y = b;
  while (y) [x, y] = [y, x % y];
  return x;
};

/** numpy's round: halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The largest gap between the two empirical CDFs of sorted samples. */
export function ksStatistic(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let max = 0;
  let min = 0;
  while (i < n1 || j < n2) {
    const v = j >= n2 || (i < n1 && a[i] <= b[j]) ? a[i] : b[j];
    while (i < n1 && a[i] <= v) i++;
    while (j < n2 && b[j] <= v) j++;
    const diff = i / n1 - j / n2;
    if (diff > max) max = diff;
    if (diff < min) min = diff;
  }
  return Math.max(max, Math.min(-min, 1));
}

/** Pr(D_{n,n} >= h/n), Horner-style to avoid cancellation. */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

/** The share of lattice paths from (0,0) to (m,n) leaving |x/m - y/n| < h/lcm: 1 - p directly. */
function outerProbInside(m0: number, n0: number, g: number, h: number): number {
  const [m, n] = m0 < n0 ? [n0, m0] : [m0, n0];
  const mg = Math.floor(m / g);
  const ng = Math.floor(n / g);
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj] * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1];
}

function asymptotic(d: number, n1: number, n2: number): number {
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  return kolmogorovSf(roundHalfEven((m * n) / (m + n)), d);
}

/**
 * The two-sided two-sample KS test of already sorted, NaN-free samples (`ks2samp` sorts for you).
 * @throws RangeError when a sample is empty (callers validate first).
 */
export function ks2sampSorted(a: Float64Array, b: Float64Array): KsResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('ks2samp needs two non-empty samples');
  let d = ksStatistic(a, b);
  if (Math.max(n1, n2) <= MAX_AUTO_N) {
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    const h = roundHalfEven(d * lcm);
    d = h / lcm;
    if (h === 0) return { statistic: d, pValue: 1, method: 'exact' };
    const prob = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInside(n1, n2, g, h);
    if (prob >= 0 && prob <= 1) return { statistic: d, pValue: prob, method: 'exact' };
  }
  const p = asymptotic(d, n1, n2);
  return { statistic: d, pValue: Math.min(Math.max(p, 0), 1), method: 'asymp' };
}

/** The two-sided two-sample KS test (scipy `ks_2samp(a, b)`), NaN values dropped first. */
export function ks2samp(a: ArrayLike<number>, b: ArrayLike<number>): KsResult {
  return ks2sampSorted(sortedPresent(a), sortedPresent(b));
}
