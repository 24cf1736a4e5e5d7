/**
 * @module monitoring/stats/distance
 * The Wasserstein-1 distance between two samples (scipy `wasserstein_distance`, the integral of
 * |F_u - F_v|) and Evidently's normed version, divided by the reference's standard deviation.
 */
import { populationStd, Sum, sortedPresent } from './sample.js';

/** W1 between two sorted NaN-free samples: one merge over the distinct values. */
export function wassersteinSorted(u: Float64Array, v: Float64Array): number {
  const nu = u.length;
  const nv = v.length;
  const sum = new Sum();
  let i = 0;
  let j = 0;
  while (i < nu || j < nv) {
    const x = j >= nv || (i < nu && u[i] <= v[j]) ? u[i] : v[j];
    while (i < nu && u[i] <= x) i++;
    while (j < nv && v[j] <= x) j++;
    if (i === nu && j === nv) break;
    const next = j >= nv || (i < nu && u[i] <= v[j]) ? u[i] : v[j];
    sum.add(Math.abs(i / nu - j / nv) * (next - x));
  }
  return sum.value;
}

/** W1 between two samples (scipy `wasserstein_distance(u, v)`), NaN values dropped. */
export const wasserstein = (u: ArrayLike<number>, v: ArrayLike<number>): number =>
  wassersteinSorted(sortedPresent(u), sortedPresent(v));

/**
 * Evidently's `wasserstein` stattest: W1 / max(std(reference), 0.001), so the score reads in
 * reference standard deviations and a constant reference does not divide by zero.
 */
export function wassersteinNormedSorted(reference: Float64Array, current: Float64Array): number {
  return wassersteinSorted(reference, current) / Math.max(populationStd(reference), 0.001);
}

/** {@link wassersteinNormedSorted} on unsorted samples, NaN values dropped. */
export const wassersteinNormed = (reference: ArrayLike<number>, current: ArrayLike<number>): number =>
  wassersteinNormedSorted(sortedPresent(reference), sortedPresent(current));
