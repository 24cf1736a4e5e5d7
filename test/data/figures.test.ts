import { describe, expect, it } from 'vitest';
import { count, describeExamples, percent, share } from '../../src/data/figures.js';

describe('figures', () => {
  it('prints shares with enough digits to tell small ones apart', () => {
    expect(percent(0)).toBe('0.00%');
    expect(percent(0.00004)).toBe('0.004%');
    expect(percent(0.0097)).toBe('0.97%');
    expect(percent(0.249)).toBe('24.9%');
    expect(percent(1)).toBe('100.0%');
    expect(share(3, 0)).toBe(0);
    expect(count(541_909)).toBe('541,909');
  });

  it('describes examples by row and file, with values quoted and missing values left out', () => {
    expect(
      describeExamples([
        { file: 'a.csv', row: 2, value: 'x"y' },
        { file: 'a.csv', row: 5, value: null },
      ]),
    ).toBe('row 2 of a.csv ("x\\"y"), row 5 of a.csv');
  });
});
