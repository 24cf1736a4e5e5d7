/**
 * @module monitoring/stats/special
 * The special functions the drift tests need: log-gamma, the regularized incomplete gamma
 * functions (chi-square p-values) and the normal tail (Z-test). The incomplete gamma follows
 * Cephes' `igam`/`igamc` (series below the mean, continued fraction above), which scipy's
 * `chi2.sf` is built on, so p-values agree with scipy to ~1e-12 away from underflow.
 */

const EPS = 2 ** -53;
const BIG = 4.503599627370496e15;
const BIG_INV = 2.220446049250313e-16;

// Lanczos g = 7, n = 9 (Godfrey's coefficients): ~1e-15 relative for x >= 0.5.
const LANCZOS = [
  0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.6150291621406,
  12.507343278686905, -0.13857109526572012, 9.984369578019572e-6, 1.5056327351493116e-7,
];
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  if (x >= 10) {
    // Stirling's series: more accurate than Lanczos where ln Γ is large.
    const r = 1 / x;
    const r2 = r * r;
    const series =
      r *
      (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 * (1 / 1188 - (691 * r2) / 360360)))));
    return (x - 0.5) * Math.log(x) - x + HALF_LOG_2PI + series;
  }
  const y = x - 1;
  let sum = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i] / (y + i);
  const t = y + 7.5;
  return HALF_LOG_2PI + (y + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** x^a e^-x / Γ(a), computed in logs; 0 when it underflows. */
function gammaPrefactor(a: number, x: number): number {
  const ax = a * Math.log(x) - x - logGamma(a);
  return ax < -709.78 ? 0 : Math.exp(ax);
}

function lowerSeries(a: number, x: number): number {
  const ax = gammaPrefactor(a, x);
  if (ax === 0) return 0;
  let r = a;
  let c = 1;
  let ans = 1;
  do {
    r += 1;
    c *= x / r;
    ans += c;
  } while (c / ans > EPS);
  return (ans * ax) / a;
}

function upperFraction(a: number, x: number): number {
  const ax = gammaPrefactor(a, x);
  if (ax === 0) return 0;
  let y = 1 - a;
  let z = x + y + 1;
  let c = 0;
  let pkm2 = 1;
  let qkm2 = x;
  let pkm1 = x + 1;
  let qkm1 = z * x;
  let ans = pkm1 / qkm1;
  let t: number;
  do {
    c += 1;
    y += 1;
    z += 2;
    const yc = y * c;
    const pk = pkm1 * z - pkm2 * yc;
    const qk = qkm1 * z - qkm2 * yc;
    if (qk !== 0) {
      const r = pk / qk;
      t = Math.abs((ans - r) / r);
      ans = r;
    } else t = 1;
    pkm2 = pkm1;
    pkm1 = pk;
    qkm2 = qkm1;
    qkm1 = qk;
    if (Math.abs(pk) > BIG) {
      pkm2 *= BIG_INV;
      pkm1 *= BIG_INV;
      qkm2 *= BIG_INV;
      qkm1 *= BIG_INV;
    }
  } while (t > EPS);
  return ans * ax;
}

/** The regularized lower incomplete gamma P(a, x) (scipy `gammainc`). */
export function gammaP(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) return Number.NaN;
  if (x === 0) return 0;
  if (x === Number.POSITIVE_INFINITY) return 1;
  return x > 1 && x > a ? 1 - upperFraction(a, x) : lowerSeries(a, x);
}

/** The regularized upper incomplete gamma Q(a, x) = 1 - P(a, x) (scipy `gammaincc`). */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) return Number.NaN;
  if (x === 0) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  return x < 1 || x < a ? 1 - lowerSeries(a, x) : upperFraction(a, x);
}

/** The chi-square distribution's survival function (scipy `chi2.sf(x, df)`). */
export const chiSquareSf = (x: number, df: number): number =>
  Number.isNaN(x) || !(df > 0) ? Number.NaN : x <= 0 ? 1 : gammaQ(df / 2, x / 2);

/**
 * The standard normal CDF as Cephes' `ndtr` computes it (scipy `norm.cdf`): through erf near 0
 * and erfc in the tails, so `1 - normalCdf(z)` loses the same digits scipy's does.
 */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  const x = z * Math.SQRT1_2;
  const a = Math.abs(x);
  if (a < Math.SQRT1_2) {
    const erf = gammaP(0.5, x * x);
    return 0.5 + 0.5 * (x < 0 ? -erf : erf);
  }
  const y = 0.5 * gammaQ(0.5, x * x);
  return x > 0 ? 1 - y : y;
}
