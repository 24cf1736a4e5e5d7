/** The CSV reader of `/invocations`: what `pandas.DataFrame.to_csv()` writes, quoting included. */
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../../src/server/routes/csv.js';

describe('parseCsv', () => {
  it('reads quoted fields with commas, quotes and line breaks, CRLF or LF, and skips blank lines', () => {
    const text = ',city,note\r\n0,"Paris, FR","say ""hi"""\r\n\r\n1,Oslo,"two\nlines"\n2,,\n';
    expect(parseCsv(text)).toEqual({
      columns: ['', 'city', 'note'],
      rows: [
        ['0', 'Paris, FR', 'say "hi"'],
        ['1', 'Oslo', 'two\nlines'],
        ['2', '', ''],
      ],
    });
    expect(parseCsv('a,b\n1,2')).toEqual({ columns: ['a', 'b'], rows: [['1', '2']] });
    expect(parseCsv('a,b\n')).toEqual({ columns: ['a', 'b'], rows: [] });
  });

  it('names an unclosed quote, a ragged row and a missing header', () => {
    expect(() => parseCsv('a,b\n"1,2\n')).toThrow('the CSV input ends inside a quoted field');
    expect(() => parseCsv('a,b\n1,2\n3\n')).toThrow('CSV row 2 has 1 fields; the header has 2');
    expect(() => parseCsv('\n\n')).toThrow('the CSV input is empty: it needs a header row');
  });
});
