/**
 * @module server/routes/csv
 * CSV as `pandas.DataFrame.to_csv()` writes it (RFC 4180): a header row, `,` between fields,
 * fields quoted with `"` when they hold a comma, quote or line break, `""` for a quote inside.
 * Every cell stays text; the model's encoder turns it into a number or a category.
 */
import { KeelError } from '../../core/index.js';

/**
 * The header and the rows of a CSV text; blank lines are skipped.
 * @throws KeelError INVALID_PARAMETER_VALUE for an unclosed quote, a row of the wrong length or
 *   a text with no header.
 */
export function parseCsv(text: string): { columns: string[]; rows: string[][] } {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endRecord = () => {
    record.push(field);
    field = '';
    if (record.length > 1 || record[0] !== '') records.push(record);
    record = [];
  };
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      endRecord();
      if (c === '\r' && text[i + 1] === '\n') i++;
    } else field += c;
    i++;
  }
  if (quoted) throw new KeelError('INVALID_PARAMETER_VALUE', 'the CSV input ends inside a quoted field');
  if (field !== '' || record.length > 0) endRecord();
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
