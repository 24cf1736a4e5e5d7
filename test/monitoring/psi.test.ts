import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  binOf,
  binTable,
  decileBreakpoints,
  lookupBin,
  percentileSorted,
  psiOfShares,
  seedPsi,
} from '../../src/monitoring/index.js';

interface Case {
  name: string;
  reference: Array<number | null>;
  current: Array<number | null>;
  breakpoints: number[];
  psi: number;
}

// Written by fixtures/psi_reference.py with numpy 1.24 (and checked there against plain Python).
const fixture = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'psi_reference.json'), 'utf8'),
) as {
  cases: Case[];
};
const values = (xs: Array<number | null>) => Float64Array.from(xs, (x) => (x === null ? Number.NaN : x));

describe("the seed's PSI", () => {
  for (const c of fixture.cases) {
    it(`matches numpy on '${c.name}'`, () => {
      const reference = values(c.reference);
      const present = reference.filter((x) => !Number.isNaN(x)).sort();
      const breaks = decileBreakpoints(present);
      for (const [i, b] of breaks.entries()) expect(b).toBeCloseTo(c.breakpoints[i], 12);
      const psi = seedPsi(reference, values(c.current));
      expect(Math.abs(psi - c.psi)).toBeLessThanOrEqual(1e-12 * Math.max(1, c.psi));
    });
  }

  it('counts a value equal to a breakpoint in the lower bin, and values beyond the range in the end bins', () => {
    const breaks = [1, 2, 2, 3];
    expect(binOf(breaks, 0)).toBe(0);
    expect(binOf(breaks, 1)).toBe(0);
    expect(binOf(breaks, 2)).toBe(1);
    expect(binOf(breaks, 2.5)).toBe(3);
    expect(binOf(breaks, 99)).toBe(4);
  });

  it('is 0 for the same shares, clips empty bins at 0.001 and is not symmetric in general', () => {
    expect(psiOfShares([0.5, 0.5, 0], [0.5, 0.5, 0])).toBe(0);
    // One bin emptied: (0.001 - 0.2) ln(0.001 / 0.2) + (0.6 - 0.4) ln(0.6 / 0.4), by hand.
    const byHand = (0.001 - 0.2) * Math.log(0.001 / 0.2) + (0.6 - 0.4) * Math.log(0.6 / 0.4);
    expect(psiOfShares([0.2, 0.4, 0.4], [0, 0.6, 0.4])).toBeCloseTo(byHand, 15);
    expect(() => psiOfShares([0.5, 0.5], [1])).toThrow(/same bins/);
  });

  it('interpolates percentiles as numpy does', () => {
    expect(percentileSorted([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentileSorted([1, 2, 3, 4], 10)).toBeCloseTo(1.3, 15);
    expect(percentileSorted([7], 90)).toBe(7);
    expect(Number.isNaN(percentileSorted([], 50))).toBe(true);
  });
});

describe("the monitor's bin table", () => {
  it('gives binOf’s bin for every value, breakpoints and their neighbours included', () => {
    const up = (x: number) => x + Math.abs(x) * 2 ** -52 + Number.MIN_VALUE;
    const down = (x: number) => x - Math.abs(x) * 2 ** -52 - Number.MIN_VALUE;
    const sets = [
      [-1.28, -0.84, -0.52, -0.25, 0, 0.25, 0.52, 0.84, 1.28],
      [0, 0, 0, 0, 0, 0, 1, 1, 2],
      [5, 5, 5, 5, 5, 5, 5, 5, 5],
      [0.1, 0.2, 0.30000000000000004, 0.4, 1e6, 1e6 + 1e-9, 2e6, 2e6, 3e9],
      [],
    ];
    for (const breakpoints of sets) {
      const table = binTable(breakpoints);
      const values = [
        ...breakpoints.flatMap((b) => [b, up(b), down(b)]),
        ...Array.from({ length: 5000 }, (_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 4),
        -1e300,
        1e300,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
      ];
      for (const x of values) expect(lookupBin(table, x)).toBe(binOf(breakpoints, x));
    }
  });
});
