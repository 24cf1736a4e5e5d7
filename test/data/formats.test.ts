import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/index.js';
import { detectFormat } from '../../src/data/index.js';

describe('detectFormat', () => {
  it('reads the format from the extension, through compression suffixes', () => {
    expect(detectFormat('/a/b.csv')).toBe('csv');
    expect(detectFormat('/a/b.CSV.gz')).toBe('csv');
    expect(detectFormat('b.tsv')).toBe('csv');
    expect(() => detectFormat('b.txt')).toThrow("'.txt'");
    expect(detectFormat('x/part.parquet')).toBe('parquet');
    expect(detectFormat('events.ndjson')).toBe('json');
    expect(detectFormat('events.jsonl.zst')).toBe('json');
    expect(detectFormat('events.json')).toBe('json');
  });

  it('names the file and extension it cannot tell', () => {
    let caught: unknown;
    try {
      detectFormat('/data/orders.xlsx');
    } catch (err) {
      caught = err;
    }
    expect(isKeelError(caught, 'INVALID_PARAMETER_VALUE')).toBe(true);
    expect((caught as Error).message).toContain("'/data/orders.xlsx'");
    expect((caught as Error).message).toContain("'.xlsx'");
  });
});
