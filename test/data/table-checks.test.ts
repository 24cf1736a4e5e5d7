import { describe, expect, it } from 'vitest';
import { withDuckDB } from '../../src/data/sql.js';
import { fileSources, stageSources } from '../../src/data/stage.js';
import { checkPresence, checkRepeats, checkVolume } from '../../src/data/table-checks.js';
import { tempDir, writeText } from '../helpers/data.js';

describe('checkPresence', () => {
  it('fails once per missing column, naming every file that lacks it', () => {
    const results = checkPresence(
      [
        { name: 'a.csv', missing: ['qty'], extra: [], firstRowId: 0 },
        { name: 'b.csv', missing: ['qty', 'id'], extra: ['x'], firstRowId: 3 },
      ],
      { extraColumns: 'reject' },
    );
    expect(results.map((r) => [r.check, r.column, r.passed])).toEqual([
      ['columns', 'qty', false],
      ['columns', 'id', false],
      ['extra_columns', undefined, false],
    ]);
    expect(results[0].message).toBe("required column 'qty' is missing from a.csv, b.csv");
    expect(results[0].observed).toBe('missing in 2 of 2 files');
    expect(results[2].message).toBe('unexpected columns x in b.csv: not allowed');
  });

  it('passes when every file has every column', () => {
    const [result] = checkPresence([{ name: 'a.csv', missing: [], extra: [], firstRowId: 0 }], {});
    expect(result).toMatchObject({ check: 'columns', passed: true });
  });
});

describe('checkVolume', () => {
  it('requires one row by default and compares with the mean of earlier ingests', () => {
    expect(checkVolume(0, {}, [])).toMatchObject([
      { check: 'volume', passed: false, observed: 0, threshold: 1 },
    ]);
    const [, change] = checkVolume(150, { volume: { maxChangeShare: 0.4 } }, [100, 100]);
    expect(change).toMatchObject({ check: 'volume_change', passed: false, observed: 0.5, threshold: 0.4 });
    expect(change.message).toBe(
      '150 rows against a mean of 100 over 2 earlier ingests: a change of 50.0%, limit 40.0%',
    );
    expect(checkVolume(120, { volume: { maxChangeShare: 0.4 } }, [100])[1].passed).toBe(true);
    expect(checkVolume(5, { volume: { maxChangeShare: 0.4 } }, [])).toHaveLength(1);
  });
});

describe('checkRepeats', () => {
  it('counts exact and key repeats across files, with each example row numbered within its file', async () => {
    const dir = tempDir();
    const a = writeText(dir, 'a.csv', 'id,v\n1,x\n2,y\n1,x\n');
    const b = writeText(dir, 'b.csv', 'id,v\n3,z\n2,w\n1,x\n');
    const columns = [
      { name: 'id', type: 'int64' as const },
      { name: 'v', type: 'string' as const },
    ];
    await withDuckDB(async (conn) => {
      const staged = await stageSources(conn, 't', fileSources([a, b]), columns);
      const exact = await checkRepeats(
        conn,
        't',
        ['id', 'v'],
        6,
        { check: 'duplicates', threshold: 0.1 },
        staged.sources,
      );
      expect(exact).toMatchObject({ passed: false, count: 2, observed: 2 / 6, threshold: 0.1 });
      expect(exact.examples).toEqual([
        { file: a, row: 3, value: '1|x' },
        { file: b, row: 3, value: '1|x' },
      ]);
      const key = await checkRepeats(
        conn,
        't',
        ['id'],
        6,
        { check: 'unique_key', threshold: 0 },
        staged.sources,
      );
      expect(key).toMatchObject({ passed: false, count: 3 });
      expect(key.examples!.map((e) => [e.file, e.row])).toEqual([
        [a, 3],
        [b, 2],
        [b, 3],
      ]);
      const unlimited = await checkRepeats(
        conn,
        't',
        ['id', 'v'],
        6,
        { check: 'duplicates' },
        staged.sources,
      );
      expect(unlimited).toMatchObject({ passed: true, count: 2, threshold: null });
      expect(unlimited.examples).toBeUndefined();
    });
  });
});
