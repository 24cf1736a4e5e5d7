/**
 * @module monitoring/stats/kolmogorov
 * The survival function of the two-sided one-sample Kolmogorov-Smirnov statistic D_n, ported
 * from scipy's `scipy/stats/_ksstats.py` (`kolmogn(n, x, cdf=False)`, which `kstwo.sf` calls):
 * the same choice between Ruben-Gambino's closed forms, Smirnov's one-sided sum, the Durbin
 * matrix (Marsaglia-Tsang-Wang), Pomeranz's recursion and the Pelz-Good expansion, with the same
 * cut-offs. `ks2samp` uses it for its asymptotic p-value.
 */

const E128 = 128;
const EP128 = 2 ** 128;
const EM128 = 2 ** -128;
const LOG_2PI = Math.log(2 * Math.PI);
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const PI2 = Math.PI ** 2;
const PI4 = Math.PI ** 4;
const PI6 = Math.PI ** 6;
const MIN_LOG = -708;
const STIRLING = [
  -0.029550653594771242, 0.00641025641025641, -0.0019175269175269176, 0.0008417508417508417,
  -0.0005952380952380953, 0.0007936507936507937, -0.002777777777777778, 0.08333333333333333,
];

const clip = (p: number): number => Math.min(Math.max(p, 0), 1);

/** x * 2^e without the intermediate power over- or underflowing. */
function ldexp(x: number, e: number): number {
  let v = x;
  let k = e;
  while (k > 1000) {
    v *= 2 ** 1000;
    k -= 1000;
  }
  while (k < -1000) {
    v *= 2 ** -1000;
    k += 1000;
  }
  return v * 2 ** k;
}

function logFactorialOverPower(n: number): number {
  const rn = 1 / n;
  let poly = 0;
  for (const c of STIRLING) poly = poly * (rn / n) + c;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * poly;
}

/**
 * Smirnov's one-sided survival function P(D+_n >= e) by the Birnbaum-Tingey sum (scipy
 * `special.smirnov`); the binomial coefficient is carried in logs past n = 1012 so it never
 * overflows.
 */
export function smirnov(n: number, e: number): number {
  if (!(n > 0 && e >= 0 && e <= 1)) return Number.NaN;
  if (e === 0) return 1;
  const nn = Math.floor(n * (1 - e));
  let p = 0;
  if (n < 1013) {
    let c = 1;
    for (let v = 0; v <= nn; v++) {
      const evn = e + v / n;
      p += c * evn ** (v - 1) * (1 - evn) ** (n - v);
      c *= (n - v) / (v + 1);
    }
  } else {
    let logC = 0;
    for (let v = 0; v <= nn; v++) {
      const evn = e + v / n;
      const omevn = 1 - evn;
      if (omevn > 0) {
        const t = logC + (v - 1) * Math.log(evn) + (n - v) * Math.log(omevn);
        if (t > -709.78) p += Math.exp(t);
      }
      logC += Math.log((n - v) / (v + 1));
    }
  }
  return p * e;
}

/** C = A·B for m×m row-major matrices. */
function matmul(a: Float64Array, b: Float64Array, m: number): Float64Array<ArrayBuffer> {
  const c = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k];
      if (aik === 0) continue;
      const row = k * m;
      const out = i * m;
      for (let j = 0; j < m; j++) c[out + j] += aik * b[row + j];
    }
  }
  return c;
}

/** P(D_n <= d) by the Durbin matrix, as Marsaglia, Tsang and Wang compute it. */
function cdfDurbin(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  let H = new Float64Array(m * m);
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - h ** j) * fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;
  for (let i = 1; i < m; i++) for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - i + 1];
  for (let r = 0; r < m; r++) H[r * m] = v[r];
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c];
  let power = new Float64Array(m * m);
  for (let i = 0; i < m; i++) power[i * m + i] = 1;
  let nn = n;
  let expnt = 0;
  let hExpnt = 0;
  while (nn > 0) {
    if (nn % 2) {
      power = matmul(power, H, m);
      expnt += hExpnt;
    }
    H = matmul(H, H, m);
    hExpnt *= 2;
    if (Math.abs(H[(k - 1) * m + k - 1]) > EP128) {
      for (let i = 0; i < H.length; i++) H[i] /= EP128;
      hExpnt += E128;
    }
    nn = Math.floor(nn / 2);
  }
  let p = power[(k - 1) * m + k - 1];
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= EP128;
      expnt -= E128;
    }
  }
  return clip(expnt !== 0 ? ldexp(p, expnt) : p);
}

function pomeranzBounds(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const half = Math.floor((i + 1) / 2);
    if ((i + 1) % 2 === 0) {
      if (half === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = half - 1 - ll - roundf - 1;
        j2 = half + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = half - 1 - ll - 1;
      j2 = half + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** P(D_n <= x) by Pomeranz's recursion. */
function cdfPomeranz(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = twogpower[0] = onem2gpower[0] = 1;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = (gpower[m - 1] * (g / n)) / m;
    twogpower[m] = (twogpower[m - 1] * ((2 * g) / n)) / m;
    onem2gpower[m] = (onem2gpower[m - 1] * ((1 - 2 * g) / n)) / m;
  }
  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let expnt = 0;
  let [j1, j2] = pomeranzBounds(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    [j1, j2] = pomeranzBounds(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      // np.convolve over the slices, which numpy truncates at the array's end.
      const start = k1 - V0s;
      const la = Math.min(start + ln2, npwrs) - start;
      const lb = Math.min(ln2, npwrs);
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      let max = Number.NEGATIVE_INFINITY;
      for (let q = 0; q < convLen; q++) {
        const c = convStart + q;
        let s = 0;
        for (let a = Math.max(0, c - lb + 1); a <= Math.min(c, la - 1); a++) s += V0[start + a] * pwrs[c - a];
        V1[q] = s;
      }
      for (let q = 0; q < npwrs; q++) if (V1[q] > max) max = V1[q];
      if (max > 0 && max < EM128) {
        for (let q = 0; q < npwrs; q++) V1[q] *= EP128;
        expnt -= E128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  let ans = V1[n - V1s];
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > EP128) {
      ans *= EM128;
      expnt += E128;
    }
    ans *= m;
  }
  return clip(expnt !== 0 ? ldexp(ans, expnt) : ans);
}

/** P(D_n <= x) by the Pelz-Good asymptotic expansion. */
function cdfPelzGood(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z ** 2;
  const z3 = z ** 3;
  const z4 = z ** 4;
  const z6 = z ** 6;
  const qlog = -PI2 / 8 / z2;
  if (qlog < MIN_LOG) return 0;
  let q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = PI2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI2) / 4;
  const k2c = (PI4 * (1 - 2 * z2)) / 16;
  const k3d = (PI6 * (5 - 30 * z2)) / 64;
  const k3c = (PI4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m ** 2;
    const m4 = m ** 4;
    const m6 = m ** 6;
    const qpower = q ** (8 * k);
    const coeffs = [1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
    for (let i = 0; i < 4; i++) K[i] = K[i] * qpower + coeffs[i];
  }
  const divisors = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = (K[i] * q * SQRT_2PI) / divisors[i];
  q = Math.exp(-PI2 / 2 / z2);
  const sqrt3z = Math.sqrt(3) * z;
  let k2extra = 0;
  let k3extra = 0;
  for (let k = maxk; k > 0; k--) {
    const k2 = k * k;
    const qk = q ** k2;
    k2extra += k2 * qk;
    const kpi = Math.PI * k;
    k3extra += (sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qk;
  }
  K[2] += (k2extra * PI2 * SQRT_2PI) / (-36 * z3);
  K[3] += (k3extra * PI2 * SQRT_2PI) / (216 * z6);
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += K[i] / n ** (i / 2);
  return sum;
}

/**
 * P(D_n > x) for the two-sided one-sample statistic (scipy `kstwo.sf(x, n)`).
 * @param n the sample size, a positive integer.
 */
export function kolmogorovSf(n: number, x: number): number {
  if (!Number.isInteger(n) || n <= 0 || Number.isNaN(x)) return Number.NaN;
  // kstwo's support is [1/(2n), 1]: rv_continuous answers 1 below it and 0 above.
  if (x <= 0.5 / n) return 1;
  if (x >= 1) return 0;
  const t = n * x;
  if (t <= 1) {
    const prob =
      n <= 140
        ? (() => {
            let p = 1;
            for (let i = 1; i <= n; i++) p *= i * (1 / n) * (2 * t - 1);
            return p;
          })()
        : Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    return clip(1 - prob);
  }
  if (t >= n - 1) return clip(2 * (1 - x) ** n);
  if (x >= 0.5) return clip(2 * smirnov(n, x));
  const nx2 = t * x;
  if (n <= 140) {
    if (nx2 <= 0.754693) return clip(1 - cdfDurbin(n, x));
    if (nx2 <= 4) return clip(1 - cdfPomeranz(n, x));
    return clip(2 * smirnov(n, x));
  }
  if (nx2 >= 370) return 0;
  if (nx2 >= 2.2) return clip(2 * smirnov(n, x));
  const cdf = n <= 100000 && n * x ** 1.5 <= 1.4 ? cdfDurbin(n, x) : cdfPelzGood(n, x);
  return clip(1 - cdf);
}
