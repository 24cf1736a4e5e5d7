import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  binOf,
  decileBreakpoints,
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
