/**
 * The one CSV reader: dialects given or sniffed only when unambiguous, a one-column header that
 * names the likely delimiter, mixed line endings, gzip, missing files in one line.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { csvDialect, queryRows, readerSql, withDuckDB } from '../../src/data/index.js';
import { tempDir } from '../helpers/temp.js';

const dir = tempDir();
const file = (name: string, text: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const read = (path: string, csv = {}) =>
  withDuckDB((conn) => queryRows(conn, `SELECT * FROM ${readerSql(path, 'csv', csv)}`));

describe('csvDialect and readerSql', () => {
  it("sniffs UCI's quoted, semicolon-separated header and reads the quoted cells as text", async () => {
    const path = file('bank.csv', '"age";"job";"y"\n58;"management";"no"\n44;"technician";"yes"\n');
    expect(csvDialect(path)).toMatchObject({ delimiter: ';', columns: ['age', 'job', 'y'], sniffed: true });
    expect(await read(path)).toEqual([
      { age: '58', job: 'management', y: 'no' },
      { age: '44', job: 'technician', y: 'yes' },
    ]);
  });

  it('names the likely delimiter when the given one reads the header as one column', () => {
    const path = file('semi.csv', 'a;b;c\n1;2;3\n');
    expect(() => csvDialect(path, { delimiter: ',' })).toThrow(
      /reads as one column with delimiter ',', but its first line holds ';'.*--delimiter ';'/,
    );
  });

  it('sniffs only when unambiguous: data lines settle a header holding two candidates, else it asks', () => {
    const settled = file('settled.csv', 'id,name;alias\n1,x;y\n2,z;w\n');
    // Both split the lines alike: no way to tell.
    expect(() => csvDialect(settled)).toThrow(/Cannot tell the delimiter .* holds ',' and ';'.*--delimiter/);
    const consistent = file('consistent.csv', 'id,name;alias\n1,x\n2,z\n');
    expect(csvDialect(consistent).delimiter).toBe(',');
    expect(csvDialect(settled, { delimiter: ';' }).columns).toEqual(['id,name', 'alias']);
  });

  it('reads a tab file, a file without header, and quotes turned off', async () => {
    expect(csvDialect(file('t.tsv', 'a\tb\n1\t2\n')).delimiter).toBe('\t');
    expect(await read(file('nohead.csv', '1,2\n3,4\n'), { header: false })).toEqual([
      { column0: '1', column1: '2' },
      { column0: '3', column1: '4' },
    ]);
    expect(await read(file('noquote.csv', 'a,b\n"x,"y"\n'), { quote: '' })).toEqual([{ a: '"x', b: '"y"' }]);
  });

  it('reads files that mix CRLF and LF line endings, in the head or further down', async () => {
    expect(await read(file('mixed.csv', 'a,b\r\n1,2\n3,4\r\n'))).toEqual([
      { a: '1', b: '2' },
      { a: '3', b: '4' },
    ]);
    const rows = Array.from({ length: 20_000 }, (_, i) => `${i},${i * 2}`);
    const late = `a,b\r\n${rows.slice(0, 10_000).join('\r\n')}\r\n${rows.slice(10_000).join('\n')}\n`;
    const read2 = await read(file('late.csv', late));
    expect(read2).toHaveLength(20_000);
    expect(read2[19_999]).toEqual({ a: '19999', b: '39998' });
  });

  it('sniffs inside gzip, strips a BOM, and keeps a line with too many cells an error naming it', async () => {
    const gz = file('g.csv.gz', gzipSync('\uFEFFx|y\n1|2\n'));
    expect(csvDialect(gz)).toMatchObject({ delimiter: '|', columns: ['x', 'y'] });
    expect(await read(gz)).toEqual([{ x: '1', y: '2' }]);
    await expect(read(file('ragged.csv', 'a,b\n1,2\n3,4,5\n'))).rejects.toThrow(/Line: 3/);
  });

  it('says a missing file in one line, never SQL', async () => {
    expect(() => readerSql(join(dir, 'absent.csv'), 'csv')).toThrow(/^File '.*absent\.csv' does not exist$/);
  });
});
