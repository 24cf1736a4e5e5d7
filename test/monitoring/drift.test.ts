import { describe, expect, it } from 'vitest';
import { type DriftColumn, detectDrift, type StatTestName } from '../../src/monitoring/index.js';
import { column, expectClose, reference } from './reference.js';

/** n values cycling through the numbers 0 .. distinct-1. */
const cycle = (n: number, distinct: number) => Float64Array.from({ length: n }, (_, i) => i % distinct);
const labels = (n: number, names: string[]) => Array.from({ length: n }, (_, i) => names[i % names.length]);

const drift = (ref: DriftColumn, cur: DriftColumn) =>
  detectDrift({ reference: { x: ref }, current: { x: cur } }).columns[0];

describe("detectDrift: Evidently's auto table", () => {
  // [row, reference of n rows, current, test at n = 1000, test at n = 1001]
  const rows: Array<[string, (n: number) => DriftColumn, DriftColumn, StatTestName, StatTestName]> = [
    ['numerical, u > 5 (u = 6)', (n) => cycle(n, 6), cycle(300, 6), 'ks', 'wasserstein'],
    ['numerical, 3 ≤ u ≤ 5 (u = 5)', (n) => cycle(n, 5), cycle(300, 5), 'chisquare', 'jensenshannon'],
    [
      'numerical, u = 3 counting the current',
      (n) => cycle(n, 2),
      Float64Array.of(2, 0, 1),
      'chisquare',
      'jensenshannon',
    ],
    ['numerical, u ≤ 2', (n) => cycle(n, 2), cycle(300, 2), 'z', 'jensenshannon'],
    [
      'categorical, u > 2',
      (n) => labels(n, ['a', 'b', 'c']),
      labels(300, ['a', 'b', 'c']),
      'chisquare',
      'jensenshannon',
    ],
    ['categorical, u ≤ 2', (n) => labels(n, ['a', 'b']), labels(300, ['a', 'b']), 'z', 'jensenshannon'],
  ];
  for (const [row, ref, cur, small, large] of rows) {
    it(`${row}: ${small} at n = 1000, ${large} at n = 1001`, () => {
      expect(drift(ref(1000), cur).test).toBe(small);
      expect(drift(ref(1001), cur).test).toBe(large);
    });
  }

  it('n counts the reference values present: 1001 rows with one NaN fall in the n ≤ 1000 column', () => {
    const ref = cycle(1001, 50);
    ref[7] = Number.NaN;
    const result = drift(ref, cycle(200, 50));
    expect(result.test).toBe('ks');
    expect(result.reference).toEqual({ rows: 1001, missing: 1 });
  });
});

describe('detectDrift: scores, thresholds and the dataset verdict', () => {
  it("scores a column with the scipy reference's value and Evidently's rule (KS: p ≤ 0.05)", () => {
    const c = reference.numeric.find((x) => x.name.startsWith('missing values'))!;
    const result = drift(column(c.reference), column(c.current));
    expect(result.test).toBe('ks');
    expectClose(result.score, c.ks.p_value, 1e-6);
    expect(result).toMatchObject({ scoreKind: 'p_value', threshold: 0.05, drifted: true });
    expect(result.reference.missing).toBe(c.reference.filter((v) => v === null).length);
    expect(result.current.missing).toBe(c.current.filter((v) => v === null).length);
  });

  it('treats ±Infinity as missing and drops null categories, counting both', () => {
    const result = detectDrift({
      reference: { n: Float64Array.of(1, 2, Number.POSITIVE_INFINITY, 3), c: ['a', null, 'b', 'a'] },
      current: { n: Float64Array.of(Number.NEGATIVE_INFINITY, 1, 2, 3), c: ['a', 'b', undefined, null] },
    });
    expect(result.columns.map((c) => [c.reference.missing, c.current.missing])).toEqual([
      [1, 1],
      [1, 2],
    ]);
    expect(result.columns[0].score).toBe(1);
  });

  it('uses a per-column test and threshold, and drifts the dataset at the configured share', () => {
    const c = reference.categorical.find((x) => x.name === 'four categories')!;
    const base = {
      reference: { a: c.reference, b: c.reference },
      current: { a: c.current, b: c.reference.slice(0, c.current.length) },
    };
    const auto = detectDrift(base);
    expect(auto.columns.map((x) => [x.test, x.drifted])).toEqual([
      ['chisquare', true],
      ['chisquare', false],
    ]);
    expect(auto).toMatchObject({ driftedColumns: 1, share: 0.5, driftShare: 0.5, drifted: true });
    expect(detectDrift({ ...base, driftShare: 0.6 }).drifted).toBe(false);

    const psi = detectDrift({ ...base, stattests: { a: 'psi' }, thresholds: { a: 0.09 } }).columns[0];
    expect(psi).toMatchObject({ test: 'psi', scoreKind: 'distance', threshold: 0.09, drifted: false });
    expectClose(psi.score, c.psi, 1e-9);
  });

  it('tests only the columns asked for', () => {
    const result = detectDrift({
      reference: { a: cycle(50, 10), b: cycle(50, 10) },
      current: { a: cycle(40, 10), b: cycle(40, 7) },
      columns: ['b'],
    });
    expect(result.columns.map((c) => c.column)).toEqual(['b']);
  });
});

describe('detectDrift: column roles and readable verdicts', () => {
  const n = 1200;
  const ramp = (shift: number) => Float64Array.from({ length: n }, (_, i) => (i % 100) + shift);

  it("skips ids and timestamps, and keeps a target out of the verdict (Evidently's names by default)", () => {
    const reference = {
      id: ramp(0),
      datetime: ramp(0),
      target: ramp(0),
      prediction: ramp(0),
      a: ramp(0),
      b: ramp(0),
    };
    const current = {
      id: ramp(500),
      datetime: ramp(500),
      target: ramp(500),
      prediction: ramp(500),
      a: ramp(0),
      b: ramp(0),
    };
    const r = detectDrift({ reference, current });
    expect(r.skipped).toEqual([
      { column: 'id', role: 'id' },
      { column: 'datetime', role: 'timestamp' },
    ]);
    expect(r.columns.map((c) => [c.column, c.role, c.drifted])).toEqual([
      ['target', 'target', true],
      ['prediction', 'prediction', true],
      ['a', 'feature', false],
      ['b', 'feature', false],
    ]);
    // Half the tested columns drifted, but neither is a feature: no dataset drift.
    expect(r).toMatchObject({ driftedColumns: 0, share: 0, drifted: false });
    const asFeatures = detectDrift({
      reference,
      current,
      roles: { target: 'feature', prediction: 'feature', id: 'ignored' },
    });
    expect(asFeatures.skipped).toEqual([
      { column: 'id', role: 'ignored' },
      { column: 'datetime', role: 'timestamp' },
    ]);
    expect(asFeatures).toMatchObject({ driftedColumns: 2, share: 0.5, drifted: true });
  });

  it('says in words what a constant reference column does, where the normed distance divides by 0.001', () => {
    const r = detectDrift({
      reference: { balance: new Float64Array(n), same: new Float64Array(n).fill(3) },
      current: { balance: ramp(1), same: new Float64Array(n).fill(3) },
    });
    const [balance, same] = r.columns;
    expect(balance).toMatchObject({ test: 'wasserstein', drifted: true });
    expect(balance.score).toBeGreaterThan(1000);
    expect(balance.note).toBe('constant 0 in the reference; 100.0% of current values differ (range 1..100)');
    expect(same.note).toBe('constant 3 in both tables');
    expect(same.drifted).toBe(false);
  });

  it('refuses a table whose every column is an id, a timestamp or ignored', () => {
    expect(() => detectDrift({ reference: { id: ramp(0) }, current: { id: ramp(0) } })).toThrow(
      'no column left to test: every column is an id, timestamp or ignored (id: id)',
    );
  });
});

describe('detectDrift: bad input', () => {
  const ref = { a: cycle(20, 10), s: labels(20, ['x', 'y']) };
  const cur = { a: cycle(20, 10), s: labels(20, ['x', 'y']) };
  const cases: Array<[string, Parameters<typeof detectDrift>[0], RegExp]> = [
    [
      'an unknown column',
      { reference: ref, current: cur, columns: ['a', 'nope'] },
      /column 'nope' is not in the reference table \(columns: a, s\)/,
    ],
    [
      'a column missing from the current table',
      { reference: ref, current: { a: cur.a }, columns: ['s'] },
      /column 's' is not in the current table/,
    ],
    [
      'an empty current table',
      { reference: ref, current: { a: new Float64Array(0), s: [] } },
      /the current table has no rows/,
    ],
    [
      'a column numeric on one side only',
      { reference: ref, current: { a: labels(20, ['1']), s: cur.s } },
      /column 'a' is numerical in the reference table but categorical in the current table/,
    ],
    [
      'a column with nothing present',
      { reference: ref, current: { a: new Float64Array(20).fill(Number.NaN), s: cur.s } },
      /column 'a' has no values in the current table \(20 of 20 missing\)/,
    ],
    [
      'columns of unequal length',
      { reference: { a: cycle(20, 3), b: cycle(19, 3) }, current: cur },
      /column 'b' of the reference table has 19 rows, 'a' has 20/,
    ],
    [
      'a numeric test on a category',
      { reference: ref, current: cur, stattests: { s: 'ks' } },
      /test 'ks' needs a numerical column; 's' is categorical/,
    ],
    [
      'a test for a column not tested',
      { reference: ref, current: cur, columns: ['a'], stattests: { s: 'psi' } },
      /column 's', which is not tested/,
    ],
    [
      'an unknown test',
      { reference: ref, current: cur, stattests: { a: 'anova' as StatTestName } },
      /Invalid drift options: stattests\.a/,
    ],
  ];
  for (const [what, options, message] of cases) {
    it(`refuses ${what}`, () => {
      expect(() => detectDrift(options)).toThrow(message);
    });
  }
});
