/**
 * @module monitoring/drift
 * Drift of each column between a reference and a current table, and of the dataset as the share
 * of drifted columns, as Evidently's data-drift preset decides it. The test per column is
 * Evidently's auto choice (`_get_default_stattest`; COMPAT.md "Drift-test defaults"), where n is
 * the reference's non-missing row count and u the distinct values of reference ∪ current:
 *
 * | column             | n ≤ 1000                 | n > 1000       |
 * |--------------------|--------------------------|----------------|
 * | numeric, u > 5     | ks (p ≤ 0.05)            | wasserstein (≥ 0.1) |
 * | numeric, 3 ≤ u ≤ 5 | chisquare (p < 0.05)     | jensenshannon (≥ 0.1) |
 * | numeric, u ≤ 2     | z (p < 0.05)             | jensenshannon  |
 * | categorical, u > 2 | chisquare                | jensenshannon  |
 * | categorical, u ≤ 2 | z                        | jensenshannon  |
 *
 * Missing values (NaN, ±Infinity as Evidently treats them, null categories) are dropped and
 * counted before anything else.
 *
 * Column roles, as Evidently's column mapping has them: `id` and `timestamp` columns are not
 * features and are not tested, nor are `ignored` ones (a split flag); `target` and `prediction`
 * columns are tested and reported but left out of the dataset verdict, which is about the
 * features. Unless told otherwise, columns named `id`, `datetime`, `target` and `prediction` take
 * those roles, as in Evidently's default mapping.
 */
import { z } from 'zod';
import { KeelError, parseInput } from '../core/index.js';
import { sortFloat64 } from '../ml/index.js';
import { distinctSortedUnion, type Values } from './stats/counts.js';
import { wassersteinNormedSorted } from './stats/distance.js';
import { chiSquare, jensenShannon, psi, zTest } from './stats/frequency.js';
import { ks2sampSorted } from './stats/ks.js';

/** A column: numbers (NaN = missing) or category labels (null = missing). */
export type DriftColumn = Float64Array | ReadonlyArray<string | null | undefined>;

/** Columns by name, all of the same length. */
export type DriftTable = Record<string, DriftColumn>;

export const STAT_TESTS = ['ks', 'wasserstein', 'psi', 'jensenshannon', 'chisquare', 'z'] as const;
export type StatTestName = (typeof STAT_TESTS)[number];

export type ColumnKind = 'numerical' | 'categorical';

export const COLUMN_ROLES = ['feature', 'target', 'prediction', 'id', 'timestamp', 'ignored'] as const;
export type ColumnRole = (typeof COLUMN_ROLES)[number];

/** Evidently's default mapping by column name. */
const DEFAULT_ROLES: Record<string, ColumnRole> = {
  id: 'id',
  datetime: 'timestamp',
  target: 'target',
  prediction: 'prediction',
};

/** The role of a column: given, else by Evidently's default names, else a feature. */
export const roleOf = (column: string, roles: Record<string, ColumnRole> = {}): ColumnRole =>
  roles[column] ?? DEFAULT_ROLES[column] ?? 'feature';

interface StatTest {
  /** A p-value falls as drift grows; a distance rises. */
  score: 'p_value' | 'distance';
  threshold: number;
  /** Whether drift is declared at equality (Evidently: KS uses p ≤ t, chi-square and Z p < t). */
  inclusive: boolean;
  numericOnly: boolean;
  run(reference: Values, current: Values): number;
}

const STATTESTS: Record<StatTestName, StatTest> = {
  ks: {
    score: 'p_value',
    threshold: 0.05,
    inclusive: true,
    numericOnly: true,
    run: (r, c) => ks2sampSorted(r as Float64Array, c as Float64Array).pValue,
  },
  wasserstein: {
    score: 'distance',
    threshold: 0.1,
    inclusive: true,
    numericOnly: true,
    run: (r, c) => wassersteinNormedSorted(r as Float64Array, c as Float64Array),
  },
  psi: { score: 'distance', threshold: 0.1, inclusive: true, numericOnly: false, run: psi },
  jensenshannon: {
    score: 'distance',
    threshold: 0.1,
    inclusive: true,
    numericOnly: false,
    run: jensenShannon,
  },
  chisquare: {
    score: 'p_value',
    threshold: 0.05,
    inclusive: false,
    numericOnly: false,
    run: (r, c) => chiSquare(r, c).pValue,
  },
  z: {
    score: 'p_value',
    threshold: 0.05,
    inclusive: false,
    numericOnly: false,
    run: (r, c) => zTest(r, c).pValue,
  },
};

export interface DetectDriftOptions {
  reference: DriftTable;
  current: DriftTable;
  /** Columns to test; default every column of the reference. */
  columns?: string[];
  /** A test per column instead of the auto choice. */
  stattests?: Record<string, StatTestName>;
  /** A threshold per column instead of the test's default (0.05 for p-values, 0.1 for distances). */
  thresholds?: Record<string, number>;
  /** The share of drifted columns at which the dataset drifts (default 0.5). */
  driftShare?: number;
  /**
   * Roles by column. Without `columns`, id, timestamp and ignored columns are not tested; target
   * and prediction columns are tested but not counted in the verdict.
   */
  roles?: Record<string, ColumnRole>;
}

export interface MissingCounts {
  /** Rows in the table. */
  rows: number;
  /** Rows whose value is missing (NaN, ±Infinity or null), dropped before the test. */
  missing: number;
}

export interface ColumnDrift {
  column: string;
  type: ColumnKind;
  test: StatTestName;
  /** `p_value` for ks, chisquare and z; `distance` for wasserstein, psi and jensenshannon. */
  scoreKind: 'p_value' | 'distance';
  score: number;
  threshold: number;
  drifted: boolean;
  /** Distinct values of reference ∪ current (counted up to 6 for numeric columns: the table needs no more). */
  uniqueValues: number;
  reference: MissingCounts;
  current: MissingCounts;
  /** `target` or `prediction` for a column reported but not counted in the verdict; else `feature`. */
  role: ColumnRole;
  /**
   * A verdict in words where the score says little: a reference that holds one value makes the
   * normed Wasserstein distance a division by Evidently's floor of 0.001.
   */
  note?: string;
}

export interface DatasetDrift {
  columns: ColumnDrift[];
  /** Columns left out by their role (id, timestamp, ignored). */
  skipped: Array<{ column: string; role: ColumnRole }>;
  driftedColumns: number;
  /** Drifted columns / columns in the verdict (features; every tested column when none is one). */
  share: number;
  driftShare: number;
  drifted: boolean;
}

const optionsSchema = z.strictObject({
  columns: z.array(z.string().min(1)).min(1).optional(),
  stattests: z.record(z.string(), z.enum(STAT_TESTS)).optional(),
  thresholds: z.record(z.string(), z.number().finite().nonnegative()).optional(),
  driftShare: z.number().gt(0).max(1).optional(),
  roles: z.record(z.string(), z.enum(COLUMN_ROLES)).optional(),
});

/** The auto choice of test (Evidently `_get_default_stattest`), see the module comment. */
export function defaultStatTest(type: ColumnKind, referenceRows: number, uniqueValues: number): StatTestName {
  if (referenceRows <= 1000) {
    if (type === 'numerical' && uniqueValues > 5) return 'ks';
    return uniqueValues > 2 ? 'chisquare' : 'z';
  }
  return type === 'numerical' && uniqueValues > 5 ? 'wasserstein' : 'jensenshannon';
}

interface Prepared {
  type: ColumnKind;
  values: Values;
  counts: MissingCounts;
}

const isNumeric = (column: DriftColumn): column is Float64Array => column instanceof Float64Array;

/** Drops missing values; numbers come back sorted, as every numeric test wants them. */
function prepare(column: DriftColumn): Prepared {
  if (isNumeric(column)) {
    let n = 0;
    for (let i = 0; i < column.length; i++) if (Number.isFinite(column[i])) n++;
    const values = new Float64Array(n);
    let k = 0;
    for (let i = 0; i < column.length; i++) if (Number.isFinite(column[i])) values[k++] = column[i];
    sortFloat64(values);
    return { type: 'numerical', values, counts: { rows: column.length, missing: column.length - n } };
  }
  const values = column.filter((v): v is string => v !== null && v !== undefined);
  return {
    type: 'categorical',
    values,
    counts: { rows: column.length, missing: column.length - values.length },
  };
}

function tableRows(table: DriftTable, which: string): number {
  const names = Object.keys(table);
  if (names.length === 0) throw new KeelError('INVALID_PARAMETER_VALUE', `the ${which} table has no columns`);
  const rows = table[names[0]].length;
  for (const name of names) {
    const column = table[name];
    if (!(column instanceof Float64Array) && !Array.isArray(column)) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `column '${name}' of the ${which} table must be a Float64Array or an array of strings`,
      );
    }
    if (column.length !== rows) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `column '${name}' of the ${which} table has ${column.length} rows, '${names[0]}' has ${rows}`,
      );
    }
  }
  if (rows === 0) throw new KeelError('INVALID_PARAMETER_VALUE', `the ${which} table has no rows`);
  return rows;
}

function need(table: DriftTable, column: string, which: string): DriftColumn {
  const values = table[column];
  if (values === undefined || !Object.hasOwn(table, column)) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `column '${column}' is not in the ${which} table (columns: ${Object.keys(table).join(', ')})`,
    );
  }
  return values;
}

function uniqueValues(reference: Prepared, current: Prepared): number {
  if (reference.type === 'numerical') {
    return distinctSortedUnion(reference.values as Float64Array, current.values as Float64Array, 6);
  }
  return new Set([...(reference.values as string[]), ...(current.values as string[])]).size;
}

function columnDrift(
  name: string,
  reference: DriftColumn,
  current: DriftColumn,
  options: Pick<DetectDriftOptions, 'stattests' | 'thresholds'>,
) {
  const ref = prepare(reference);
  const cur = prepare(current);
  if (ref.type !== cur.type) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `column '${name}' is ${ref.type} in the reference table but ${cur.type} in the current table`,
    );
  }
  for (const [which, side] of [
    ['reference', ref],
    ['current', cur],
  ] as const) {
    if (side.values.length === 0) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `column '${name}' has no values in the ${which} table (${side.counts.missing} of ${side.counts.rows} missing)`,
      );
    }
  }
  const unique = uniqueValues(ref, cur);
  const test = options.stattests?.[name] ?? defaultStatTest(ref.type, ref.values.length, unique);
  const spec = STATTESTS[test];
  if (spec.numericOnly && ref.type !== 'numerical') {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `test '${test}' needs a numerical column; '${name}' is categorical`,
    );
  }
  const threshold = options.thresholds?.[name] ?? spec.threshold;
  const score = spec.run(ref.values, cur.values);
  const drifted =
    spec.score === 'p_value' ? (spec.inclusive ? score <= threshold : score < threshold) : score >= threshold;
  const note =
    ref.type === 'numerical'
      ? constantNote(ref.values as Float64Array, cur.values as Float64Array)
      : undefined;
  return {
    column: name,
    type: ref.type,
    test,
    scoreKind: spec.score,
    score,
    threshold,
    drifted,
    uniqueValues: unique,
    reference: ref.counts,
    current: cur.counts,
    role: 'feature',
    ...(note ? { note } : {}),
  } satisfies ColumnDrift;
}

const short = (x: number) => String(Number(x.toPrecision(6)));

/** For a reference holding one value: what the current values do, in words (both sorted). */
function constantNote(reference: Float64Array, current: Float64Array): string | undefined {
  const value = reference[0];
  if (reference[reference.length - 1] !== value) return undefined;
  const differ = current.reduce((n, v) => n + (v === value ? 0 : 1), 0);
  if (differ === 0) return `constant ${short(value)} in both tables`;
  const share = differ / current.length;
  return `constant ${short(value)} in the reference; ${(share * 100).toFixed(1)}% of current values differ (range ${short(current[0])}..${short(current[current.length - 1])})`;
}

/**
 * Tests every column for drift and decides the dataset's drift.
 * @example
 * const report = detectDrift({ reference: { age: refAges }, current: { age: curAges } });
 * if (report.drifted) console.log(report.columns.filter((c) => c.drifted));
 * @throws KeelError INVALID_PARAMETER_VALUE for an unknown column (named, with the table's
 *   columns), an empty table, a column without values, columns of unequal length, a column
 *   numeric on one side and categorical on the other, or a numeric-only test on a category.
 */
export function detectDrift(options: DetectDriftOptions): DatasetDrift {
  const { reference, current, ...rest } = options;
  const settings = parseInput(optionsSchema, rest, 'drift options');
  tableRows(reference, 'reference');
  tableRows(current, 'current');
  const roles = settings.roles ?? {};
  const skipped = settings.columns
    ? []
    : Object.keys(reference)
        .map((column) => ({ column, role: roleOf(column, roles) }))
        .filter((c) => c.role === 'id' || c.role === 'timestamp' || c.role === 'ignored');
  const columns =
    settings.columns ?? Object.keys(reference).filter((c) => !skipped.some((s) => s.column === c));
  if (columns.length === 0) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `no column left to test: every column is an id, timestamp or ignored (${skipped.map((c) => `${c.column}: ${c.role}`).join(', ')})`,
    );
  }
  for (const key of [...Object.keys(settings.stattests ?? {}), ...Object.keys(settings.thresholds ?? {})]) {
    if (!columns.includes(key)) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `a test or threshold is set for column '${key}', which is not tested (columns: ${columns.join(', ')})`,
      );
    }
  }
  const results = columns.map((name) => ({
    ...columnDrift(name, need(reference, name, 'reference'), need(current, name, 'current'), settings),
    role: roleOf(name, roles),
  }));
  const features = results.filter((r) => r.role === 'feature');
  const counted = features.length > 0 ? features : results;
  const driftedColumns = counted.filter((r) => r.drifted).length;
  const share = driftedColumns / counted.length;
  const driftShare = settings.driftShare ?? 0.5;
  return { columns: results, skipped, driftedColumns, share, driftShare, drifted: share >= driftShare };
}
