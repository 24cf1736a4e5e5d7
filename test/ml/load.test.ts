import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import type { KeelError } from '../../src/core/index.js';
import { loadTable } from '../../src/ml/index.js';
import { tempDir } from '../helpers/temp.js';

const dir = tempDir();
const csv = [
  'age,city,score,label,split',
  '30,Oslo,1.5,yes,train',
  '41,Bergen,?,no,test',
  '25,,2.5,yes,train',
  '52,Oslo,3,no,train',
].join('\n');
const good = join(dir, 'good.csv.gz');
writeFileSync(good, gzipSync(`${csv}\n`));

async function error(p: Promise<unknown>): Promise<KeelError> {
  try {
    await p;
  } catch (e) {
    return e as KeelError;
  }
  throw new Error('expected an error');
}

describe('loadTable', () => {
  it('reads numeric columns as Float64Array with NaN for missing, codes categories, keeps extra columns', async () => {
    const t = await loadTable({
      path: good,
      target: 'label',
      positiveLabel: 'yes',
      categorical: ['city'],
      extraColumns: ['split'],
    });
    expect(t.rows).toBe(4);
    expect(t.x.names).toEqual(['age', 'city', 'score']);
    expect(Array.from(t.x.columns[0])).toEqual([30, 41, 25, 52]);
    expect(t.categories.city).toEqual(['Bergen', 'Oslo']);
    expect(Array.from(t.x.columns[1])).toEqual([1, 0, Number.NaN, 1]);
    expect(Array.from(t.x.columns[2])).toEqual([1.5, Number.NaN, 2.5, 3]);
    expect(Array.from(t.y!)).toEqual([1, 0, 1, 0]);
    expect(t.extra.split).toEqual(['train', 'test', 'train', 'train']);
  });

  it('encodes with given categories, unseen values as missing', async () => {
    const t = await loadTable({ path: good, features: ['city'], categories: { city: ['Oslo', 'Paris'] } });
    expect(Array.from(t.x.columns[0])).toEqual([0, Number.NaN, Number.NaN, 0]);
    expect(t.y).toBeUndefined();
  });

  it('reads Parquet', async () => {
    const path = join(dir, 't.parquet');
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    await db.run(
      `COPY (SELECT i::DOUBLE AS a, (i % 2)::INTEGER AS y FROM range(10) t(i)) TO '${path}' (FORMAT parquet)`,
    );
    db.closeSync();
    instance.closeSync();
    const t = await loadTable({ path, target: 'y' });
    expect(t.x.names).toEqual(['a']);
    expect(Array.from(t.y!)).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
  });

  it('names a missing target column and the columns there are', async () => {
    const e = await error(loadTable({ path: good, target: 'income' }));
    expect(e.code).toBe('INVALID_PARAMETER_VALUE');
    expect(e.message).toMatch(/target column 'income' is not in .*columns: age, city, score, label, split/);
  });

  it('names the column, row, line and value of a non-numeric value in a numeric feature', async () => {
    const e = await error(
      loadTable({ path: good, target: 'label', positiveLabel: 'yes', extraColumns: ['split'] }),
    );
    expect(e.code).toBe('DATA_VALIDATION_FAILED');
    expect(e.message).toContain("numeric feature 'city' has a non-numeric value 'Oslo' at row 1 (line 2)");
  });

  it('counts missing labels', async () => {
    const path = join(dir, 'nolabel.csv');
    writeFileSync(path, 'a,y\n1,1\n2,\n3,NA\n4,0\n');
    const e = await error(loadTable({ path, target: 'y' }));
    expect(e.code).toBe('DATA_VALIDATION_FAILED');
    expect(e.message).toBe("target 'y' is missing in 2 of 4 rows");
  });

  it('keeps an all-constant feature (the trainers warn and never split it)', async () => {
    const path = join(dir, 'flat.csv');
    writeFileSync(path, 'a,flat,y\n1,5,1\n2,5,0\n');
    const t = await loadTable({ path, target: 'y' });
    expect(Array.from(t.x.columns[1])).toEqual([5, 5]);
  });

  it('refuses an unknown file type and a missing file', async () => {
    expect((await error(loadTable({ path: join(dir, 'x.xlsx') }))).message).toMatch(/expected a .csv/);
    expect((await error(loadTable({ path: join(dir, 'none.csv') }))).code).toBe('RESOURCE_DOES_NOT_EXIST');
  });
});
