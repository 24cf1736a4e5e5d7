/**
 * @module server/routes/csv
 * CSV as `pandas.DataFrame.to_csv()` writes it (RFC 4180): a header row, `,` between fields,
 * fields quoted with `"` when they hold a comma, quote or line break, `""` for a quote inside.
 * Every cell stays text; the model's encoder turns it into a number or a category.
 */
import { KeelError } from '../../core/index.js';

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const isDelimiter = (c: number) => c === COMMA || c === LF || c === CR;

/**
 * The header and the rows of a CSV text; blank lines are skipped.
 * @throws KeelError INVALID_PARAMETER_VALUE for an unclosed quote, a row of the wrong length or
 *   a text with no header.
 */
export function parseCsv(text: string): { columns: string[]; rows: string[][] } {
  const records: string[][] = [];
  let record: string[] = [];
  const n = text.length;
  let i = 0;
  const endRecord = () => {
    if (record.length > 1 || record[0] !== '') records.push(record);
    record = [];
  };
  // Field by field: an unquoted field is one slice of the text, never built a character at a time.
  while (i < n) {
    let field: string;
    if (text.charCodeAt(i) === QUOTE) {
      field = '';
      let from = ++i;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new KeelError('INVALID_PARAMETER_VALUE', 'the CSV input ends inside a quoted field');
        if (text.charCodeAt(q + 1) === QUOTE) {
          field += text.slice(from, q + 1);
          i = from = q + 2;
          continue;
        }
        field += text.slice(from, q);
        i = q + 1;
        break;
      }
      // Text after the closing quote belongs to the field, as it did before the quote.
      const rest = i;
      while (i < n && !isDelimiter(text.charCodeAt(i))) i++;
      if (i > rest) field += text.slice(rest, i);
    } else {
      const from = i;
      while (i < n && !isDelimiter(text.charCodeAt(i))) i++;
      field = text.slice(from, i);
    }
    record.push(field);
    if (i >= n) break;
    const c = text.charCodeAt(i++);
    if (c === COMMA) {
      // A trailing comma ends the text with one more, empty field.
      if (i >= n) record.push('');
      continue;
    }
    if (c === CR && text.charCodeAt(i) === LF) i++;
    endRecord();
  }
  if (record.length > 0) endRecord();
  const [columns, ...rows] = records;
  if (!columns)
    throw new KeelError('INVALID_PARAMETER_VALUE', 'the CSV input is empty: it needs a header row');
  rows.forEach((row, r) => {
    if (row.length !== columns.length)
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `CSV row ${r + 1} has ${row.length} fields; the header has ${columns.length}`,
      );
  });
  return { columns, rows };
}
