/**
 * @module monitoring/profile
 * A reference profile: what monitoring keeps of a version's training data so it never reads that
 * data again. Per feature: rows, missing share, type, min/max, mean and standard deviation, the
 * decile breakpoints and bin shares of the seed's PSI (computed on every row, so PSI from the
 * profile is exact), category frequencies, and a reservoir sample of rows for the tests that need
 * values (KS, Wasserstein, Evidently's auto choice). The same for the model's scores on that data,
 * plus the run's metrics, the baseline realised performance is compared with.
 *
 * The sample is one set of rows for every feature (10,000 by default, a seeded draw, so the same
 * data gives the same profile), kept in row order with NaN for missing values. Stored as JSON,
 * numbers in base64 Float64 so a 20-feature profile is ~2 MB and parses in milliseconds.
 */
import { Rng } from '../ml/index.js';
import { binCounts, decileBreakpoints, sharesOf } from './psi.js';
import { populationStd } from './stats/sample.js';

/** Most categories a profile keeps per feature; rarer ones share the "other" bin. */
export const MAX_PROFILE_CATEGORIES = 100;
export const DEFAULT_SAMPLE_ROWS = 10_000;

interface BaseFeature {
  name: string;
  rows: number;
  missing: number;
}

export interface NumericFeatureProfile extends BaseFeature {
  type: 'numerical';
  /** Over present values; null when every value is missing. */
  min: number | null;
  max: number | null;
  mean: number | null;
  std: number | null;
  /** The nine decile breakpoints of the present values (empty when none). */
  breakpoints: number[];
  /** Shares of the present values in the ten bins the breakpoints cut (PSI's expected side). */
  shares: number[];
  /** The sampled rows' values, in row order, NaN for missing. */
  sample: Float64Array;
}

export interface CategoricalFeatureProfile extends BaseFeature {
  type: 'categorical';
  /** The most frequent categories with their shares of the present values, most frequent first. */
  categories: Array<{ value: string; share: number }>;
  /** Share of present values outside `categories`. */
  otherShare: number;
  /** The model's category list, in code order, when it takes the column as codes. */
  codes?: string[];
  sample: Array<string | null>;
}

export type FeatureProfile = NumericFeatureProfile | CategoricalFeatureProfile;

export interface ProfileSource {
  /** Where the rows came from: a file, and the run whose training data it is. */
  path?: string;
  digest?: string;
  runId?: string;
}

export interface ReferenceProfile {
  model: string;
  version: string;
  /** ms since the epoch. */
  createdAt: number;
  source: ProfileSource;
  rows: number;
  task: 'binary' | 'regression';
  features: FeatureProfile[];
  /** The model's scores on the same rows. */
  scores: NumericFeatureProfile;
  /** The training run's latest metrics: the performance baseline. */
  metrics: Record<string, number>;
  /** The rows the sample holds. */
  sampleRows: number;
}

export type ProfileColumn =
  | { name: string; values: Float64Array }
  | { name: string; labels: ReadonlyArray<string | null>; codes?: string[] };

export interface BuildProfileInput {
  model: string;
  version: string;
  createdAt: number;
  source: ProfileSource;
  columns: readonly ProfileColumn[];
  scores: Float64Array;
  task: 'binary' | 'regression';
  metrics: Record<string, number>;
  /** Rows sampled for the value-based tests (default 10,000; all rows when fewer). */
  sampleRows?: number;
  seed?: number;
}

/** Profiles one numeric column; `sampleIndex` picks the sampled rows. */
export function numericProfile(
  name: string,
  values: Float64Array,
  sampleIndex: ArrayLike<number>,
): NumericFeatureProfile {
  const present = values.filter((x) => Number.isFinite(x)).sort();
  const breakpoints = decileBreakpoints(present);
  const sample = new Float64Array(sampleIndex.length);
  for (let i = 0; i < sampleIndex.length; i++) {
    const x = values[sampleIndex[i]];
    sample[i] = Number.isFinite(x) ? x : Number.NaN;
  }
  let total = 0;
  for (const x of present) total += x;
  const some = present.length > 0;
  return {
    name,
    type: 'numerical',
    rows: values.length,
    missing: values.length - present.length,
    min: some ? present[0] : null,
    max: some ? present[present.length - 1] : null,
    mean: some ? total / present.length : null,
    std: some ? populationStd(present) : null,
    breakpoints,
    shares: some ? sharesOf(binCounts(present, breakpoints).counts) : [],
    sample,
  };
}

function categoricalProfile(
  name: string,
  labels: ReadonlyArray<string | null>,
  sampleIndex: ArrayLike<number>,
  codes?: string[],
): CategoricalFeatureProfile {
  const counts = new Map<string, number>();
  let present = 0;
  for (const v of labels) {
    if (v === null || v === undefined) continue;
    present++;
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  // Most frequent first, ties by value, so the same data gives the same list.
  const top = [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, MAX_PROFILE_CATEGORIES);
  const kept = top.reduce((n, [, c]) => n + c, 0);
  return {
    name,
    type: 'categorical',
    rows: labels.length,
    missing: labels.length - present,
    categories: top.map(([value, c]) => ({ value, share: present === 0 ? 0 : c / present })),
    otherShare: present === 0 ? 0 : (present - kept) / present,
    ...(codes ? { codes } : {}),
    sample: Array.from(sampleIndex, (i) => labels[i] ?? null),
  };
}

/**
 * Builds a profile from columns of equal length and the model's scores on the same rows.
 * @throws RangeError when the columns or the scores differ in length (callers validate first).
 */
export function buildProfile(input: BuildProfileInput): ReferenceProfile {
  const rows = input.scores.length;
  for (const c of input.columns) {
    const n = 'values' in c ? c.values.length : c.labels.length;
    if (n !== rows) throw new RangeError(`column '${c.name}' has ${n} rows, the scores ${rows}`);
  }
  const k = Math.min(rows, input.sampleRows ?? DEFAULT_SAMPLE_ROWS);
  const sampleIndex = new Rng(input.seed ?? 7).sample(rows, k);
  return {
    model: input.model,
    version: input.version,
    createdAt: input.createdAt,
    source: input.source,
    rows,
    task: input.task,
    features: input.columns.map((c) =>
      'values' in c
        ? numericProfile(c.name, c.values, sampleIndex)
        : categoricalProfile(c.name, c.labels, sampleIndex, c.codes),
    ),
    scores: numericProfile('score', input.scores, sampleIndex),
    metrics: input.metrics,
    sampleRows: k,
  };
}

/** The sampled present values of a numeric profile, sorted (what KS and Wasserstein take). */
export function sortedSample(profile: NumericFeatureProfile): Float64Array {
  return profile.sample.filter((x) => !Number.isNaN(x)).sort();
}

const toBase64 = (values: Float64Array): string =>
  Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');

function fromBase64(text: string): Float64Array {
  const bytes = Buffer.from(text, 'base64');
  // Copied into a fresh buffer: a Buffer's offset in Node's pool need not be 8-byte aligned.
  const out = new Float64Array(bytes.byteLength / 8);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** The profile as JSON text, samples of numbers in base64. */
export function serializeProfile(profile: ReferenceProfile): string {
  return JSON.stringify(profile, (_key, value) =>
    value instanceof Float64Array ? { f64: toBase64(value) } : value,
  );
}

/** Reads back what `serializeProfile` wrote. */
export function parseProfile(text: string): ReferenceProfile {
  return JSON.parse(text, (_key, value) =>
    value && typeof value === 'object' && typeof value.f64 === 'string' && Object.keys(value).length === 1
      ? fromBase64(value.f64)
      : value,
  ) as ReferenceProfile;
}
