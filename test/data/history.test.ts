import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/index.js';
import { appendHistory, readHistory } from '../../src/data/history.js';
import { tempDir } from '../helpers/data.js';

describe('ingest history', () => {
  it('is empty before the first ingest and appends in order, leaving no temporary files', () => {
    const dir = tempDir();
    expect(readHistory(dir)).toEqual([]);
    const entry = { at: 1, rows: 10, partition: 'p1', digest: 'sha256:aa', files: ['a.csv'] };
    appendHistory(dir, entry);
    appendHistory(dir, { ...entry, at: 2, rows: 20, partition: 'p2' });
    expect(readHistory(dir).map((e) => e.rows)).toEqual([10, 20]);
    expect(readdirSync(dir)).toEqual(['_ingests.json']);
  });

  it('refuses a corrupt history, naming the file', () => {
    const dir = tempDir();
    writeFileSync(join(dir, '_ingests.json'), '[{"rows": -1}]');
    let caught: unknown;
    try {
      readHistory(dir);
    } catch (err) {
      caught = err;
    }
    expect(isKeelError(caught, 'INVALID_STATE')).toBe(true);
    expect((caught as Error).message).toContain(join(dir, '_ingests.json'));
  });
});
