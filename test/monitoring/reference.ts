/**
 * The scipy reference values of fixtures/drift_reference.json (made by drift_reference.py), with
 * the JSON stand-ins turned back into numbers: null is a missing value (NaN), "inf"/"nan" strings.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

type Num = number | string | null;

interface Pair {
  statistic: Num;
  p_value: Num;
}

export interface NumericCase {
  name: string;
  reference: Num[];
  current: Num[];
  ks: Pair;
  wasserstein: number;
  wasserstein_normed: number;
  psi: number;
  jensenshannon: number;
  chisquare?: Pair;
  z?: Pair;
}

export interface CategoricalCase {
  name: string;
  reference: string[];
  current: string[];
  psi: number;
  jensenshannon: number;
  chisquare: Pair;
  z: Pair;
}

export const reference = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'drift_reference.json'), 'utf8'),
) as {
  scipy: string;
  numeric: NumericCase[];
  categorical: CategoricalCase[];
  kstwo: Array<{ n: number; x: number; sf: number }>;
  special: {
    chi2_sf: Array<{ x: number; df: number; sf: number }>;
    norm_cdf: Array<{ z: number; cdf: number }>;
  };
};

export const num = (v: Num): number =>
  v === null || v === 'nan'
    ? Number.NaN
    : v === 'inf'
      ? Number.POSITIVE_INFINITY
      : v === '-inf'
        ? Number.NEGATIVE_INFINITY
        : (v as number);

export const column = (values: Num[]): Float64Array => Float64Array.from(values, num);

/** Expects `got` within `rtol` of scipy's `want` (relative; exact for 0, inf and NaN). */
export function expectClose(got: number, want: Num, rtol: number, what = ''): void {
  const w = num(want);
  if (!Number.isFinite(w) || w === 0) {
    expect(got, what).toBe(w);
    return;
  }
  expect(Math.abs(got - w) / Math.abs(w), `${what}: got ${got}, scipy ${w}`).toBeLessThanOrEqual(rtol);
}
