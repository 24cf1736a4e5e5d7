import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/index.js';
import { queryRows, withDuckDB } from '../../src/data/sql.js';
import { fileSources, stageSources } from '../../src/data/stage.js';
import { tempDir, writeText } from '../helpers/data.js';

const columns = [
  { name: 'id', type: 'int64' as const },
  { name: 'name', type: 'string' as const },
];

function thrown(work: () => unknown): unknown {
  try {
    work();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('fileSources', () => {
  it('refuses no files, a missing file and a folder, naming each', () => {
    const dir = tempDir();
    expect(
      isKeelError(
        thrown(() => fileSources([])),
        'INVALID_PARAMETER_VALUE',
      ),
    ).toBe(true);
    const missing = thrown(() => fileSources([join(dir, 'gone.csv')]));
    expect(isKeelError(missing, 'RESOURCE_DOES_NOT_EXIST')).toBe(true);
    expect((missing as Error).message).toBe(`Input file '${join(dir, 'gone.csv')}' does not exist`);
    mkdirSync(join(dir, 'folder.csv'));
    const folder = thrown(() => fileSources([join(dir, 'folder.csv')]));
    expect((folder as Error).message).toBe(`Input '${join(dir, 'folder.csv')}' is not a file`);
  });
});

describe('stageSources', () => {
  it('loads files as text under the spec names, renaming and listing missing and extra columns', async () => {
    const dir = tempDir();
    const a = writeText(dir, 'a.csv', 'ident,name,color\n1,ann,red\n2,,blue\n');
    const b = writeText(dir, 'b.csv', 'ident\n3\n');
    const empty = writeText(dir, 'empty.csv', '');
    await withDuckDB(async (conn) => {
      const staged = await stageSources(conn, 'stage', fileSources([a, b, empty]), columns, {
        rename: { ident: 'id' },
      });
      expect(staged.rows).toBe(3);
      expect(staged.sources).toEqual([
        { name: a, missing: [], extra: ['color'], firstRowId: 0 },
        { name: b, missing: ['name'], extra: [], firstRowId: 2 },
        { name: empty, missing: ['id', 'name'], extra: [], firstRowId: 3 },
      ]);
      expect(await queryRows(conn, 'SELECT __file, id, name FROM stage ORDER BY rowid')).toEqual([
        { __file: 0, id: '1', name: 'ann' },
        { __file: 0, id: '2', name: null },
        { __file: 1, id: '3', name: null },
      ]);
    });
  });

  it('unquotes the strings of a JSON column whose values mix types', async () => {
    const dir = tempDir();
    const path = writeText(dir, 'mixed.json', '[{"id": 1, "name": "ann"}, {"id": "2", "name": 7}]');
    await withDuckDB(async (conn) => {
      await stageSources(conn, 'stage', fileSources([path]), columns);
      expect(await queryRows(conn, 'SELECT id, name FROM stage ORDER BY rowid')).toEqual([
        { id: '1', name: 'ann' },
        { id: '2', name: '7' },
      ]);
    });
  });

  it('refuses a ragged CSV instead of guessing another dialect and dropping lines', async () => {
    const dir = tempDir();
    const ragged = writeText(dir, 'ragged.csv', 'id,name\n1,a\n2,b,extra\n3,c\n');
    const err = await withDuckDB((conn) => stageSources(conn, 's', fileSources([ragged]), columns)).catch(
      (e) => e,
    );
    expect(isKeelError(err, 'INVALID_PARAMETER_VALUE')).toBe(true);
    expect((err as Error).message).toMatch(new RegExp(`^Cannot read '${ragged}': [^\n]+$`));
  });

  it('turns a file DuckDB cannot read into an error naming the file', async () => {
    const dir = tempDir();
    const broken = writeText(dir, 'broken.parquet', 'this is not parquet');
    const err = await withDuckDB((conn) => stageSources(conn, 's', fileSources([broken]), columns)).catch(
      (e) => e,
    );
    expect(isKeelError(err, 'INVALID_PARAMETER_VALUE')).toBe(true);
    expect((err as Error).message).toContain(`Cannot read '${broken}'`);
  });
});
