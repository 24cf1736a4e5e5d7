/**
 * @module data/csv
 * The one CSV reader every command uses (ingest, train, evaluate, score, drift, show): the
 * delimiter, quote and header are given (`--delimiter`, `csv:` in a schema or train.yaml) or
 * sniffed from the file's first lines, and only when the sniffing is unambiguous. The header is
 * parsed here and handed to DuckDB as the column list with its sniffer off, so every cell is read
 * as text under one known dialect and a malformed line is reported by DuckDB with its number,
 * never skipped or re-guessed. Files that mix CRLF and LF line endings are read too.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import { z } from 'zod';
import { KeelError, strictObject } from '../core/index.js';
import { literal } from './sql.js';

/** The dialect options a user may give; anything left out is sniffed or defaulted. */
export const csvOptionsSchema = strictObject({
  /** The field separator, e.g. `;` or `\t` (1 to 4 characters). Default: sniffed from the header. */
  delimiter: z.string().min(1).max(4).optional(),
  /** The quote character; `''` turns quoting off. Default `"` (doubled inside a quoted value). */
  quote: z.string().max(1).optional(),
  /** Whether the first line names the columns. Default true; without one they are column0, column1, ... */
  header: z.boolean().optional(),
});
export type CsvOptions = z.output<typeof csvOptionsSchema>;

/** The dialect a file is read with, and its columns. */
export interface CsvDialect {
  delimiter: string;
  quote: string;
  header: boolean;
  columns: string[];
  /** Whether the delimiter was sniffed (not given). */
  sniffed: boolean;
  /** CRLF and LF both occur: DuckDB then needs its lenient parser. */
  mixedLineEndings: boolean;
}

/** The delimiters sniffing chooses among. */
const CANDIDATES = [',', ';', '\t', '|'] as const;
const HEAD_BYTES = 64 * 1024;

const show = (d: string) => (d === '\t' ? '\\t' : d);

/** The first bytes of a file as text (gzip decompressed as far as it goes), BOM removed. */
function readHead(path: string): { text: string; complete: boolean } {
  const fd = openSync(path, 'r');
  let bytes: Buffer;
  let complete: boolean;
  try {
    const size = statSync(path).size;
    const buffer = Buffer.alloc(Math.min(HEAD_BYTES, size));
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    bytes = buffer.subarray(0, n);
    complete = n >= size;
  } finally {
    closeSync(fd);
  }
  if (/\.gz$/i.test(path)) {
    // A truncated gzip stream decompresses as far as it goes with a sync flush.
    bytes = gunzipSync(bytes, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  }
  const text = bytes.toString('utf8');
  return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, complete };
}

/**
 * The records of `text` as cell lists, under a delimiter and quote (`""` inside quotes is one `"`).
 * Stops after `max` records; a record cut off at the end of `text` is dropped unless `complete`.
 */
export function splitRecords(
  text: string,
  delimiter: string,
  quote: string,
  max: number,
  complete = true,
): string[][] {
  const records: string[][] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let i = 0;
  while (i < text.length && records.length < max) {
    const c = text[i];
    if (quoted) {
      if (c === quote) {
        if (text[i + 1] === quote) {
          cell += quote;
          i += 2;
          continue;
        }
        quoted = false;
      } else cell += c;
      i++;
    } else if (quote !== '' && c === quote && cell === '') {
      quoted = true;
      i++;
    } else if (text.startsWith(delimiter, i)) {
      cells.push(cell);
      cell = '';
      i += delimiter.length;
    } else if (c === '\n' || c === '\r') {
      cells.push(cell);
      records.push(cells);
      cells = [];
      cell = '';
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      cell += c;
      i++;
    }
  }
  if (records.length < max && complete && (cell !== '' || cells.length > 0)) records.push([...cells, cell]);
  return records;
}

/** How often each candidate separates cells of a line (outside quotes): cells - 1. */
const separators = (line: string, delimiter: string, quote: string) =>
  splitRecords(line, delimiter, quote, 1)[0]?.length - 1 || 0;

/**
 * Picks the delimiter from the first lines: the candidate that occurs in the header, or, when
 * several do, the one that splits the first data lines into as many cells as the header. Anything
 * else is ambiguous and must be given.
 */
function sniffDelimiter(path: string, lines: string[], quote: string, preferTab: boolean): string {
  const [header, ...rows] = lines;
  if (header === undefined) return preferTab ? '\t' : ',';
  const present = CANDIDATES.filter((d) => separators(header, d, quote) > 0);
  if (present.length === 0) return preferTab ? '\t' : ',';
  if (present.length === 1) return present[0];
  if (preferTab && present.includes('\t')) return '\t';
  const consistent = present.filter((d) => {
    const n = separators(header, d, quote);
    return rows.length > 0 && rows.every((r) => separators(r, d, quote) === n);
  });
  if (consistent.length === 1) return consistent[0];
  throw new KeelError(
    'INVALID_PARAMETER_VALUE',
    `Cannot tell the delimiter of '${path}': its header holds ${present.map((d) => `'${show(d)}'`).join(' and ')}; give it (--delimiter, or csv: { delimiter } in the schema or train.yaml)`,
  );
}

/** Physical lines of the head (for sniffing only; a quoted newline makes at most one line odd). */
const headLines = (text: string, complete: boolean, n: number) => {
  const lines = text.split(/\r?\n|\r/);
  if (!complete) lines.pop();
  return lines.filter((l) => l !== '').slice(0, n);
};

/**
 * Checks that `path` is a readable file, so a missing one is reported in one line, never as SQL.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST, or INVALID_PARAMETER_VALUE for a folder.
 */
export function requireFile(path: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (cause) {
    throw new KeelError('RESOURCE_DOES_NOT_EXIST', `File '${path}' does not exist`, { cause });
  }
  if (!isFile) throw new KeelError('INVALID_PARAMETER_VALUE', `'${path}' is not a file`);
}

/** Column names as DuckDB would give them: empty ones become columnN, repeats get _1, _2. */
function columnNames(cells: string[], header: boolean): string[] {
  const seen = new Map<string, number>();
  return cells.map((cell, i) => {
    const base = header && cell.trim() !== '' ? cell : `column${i}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  });
}

/** Whether the whole file (plain text only) has CRLF and also a bare LF. */
function mixesLineEndings(path: string, head: string, complete: boolean): boolean {
  const crlf = head.includes('\r\n');
  const bareLf = /(^|[^\r])\n/.test(head);
  if (!crlf || bareLf || complete || /\.gz$/i.test(path)) return crlf && bareLf;
  // CRLF so far: look through the rest of the file for a line that ends in LF alone.
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(1 << 20);
    let position = 0;
    let previous = 0;
    for (let n = readSync(fd, buffer, 0, buffer.length, position); n > 0; ) {
      for (let i = buffer.indexOf(10); i >= 0 && i < n; i = buffer.indexOf(10, i + 1)) {
        if ((i === 0 ? previous : buffer[i - 1]) !== 13) return true;
      }
      previous = buffer[n - 1];
      position += n;
      n = readSync(fd, buffer, 0, buffer.length, position);
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

/**
 * The dialect and columns of a CSV file (also `.gz`): given options win, the rest is sniffed.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST for a missing file; INVALID_PARAMETER_VALUE for
 *   an ambiguous delimiter, or a header that reads as one column but looks separated by another
 *   delimiter (naming it).
 */
export function csvDialect(path: string, options: CsvOptions = {}): CsvDialect {
  requireFile(path);
  const { text, complete } = readHead(path);
  const quote = options.quote ?? '"';
  const header = options.header ?? true;
  const lines = headLines(text, complete, 20);
  const preferTab = /\.tsv(\.gz)?$/i.test(path);
  const delimiter = options.delimiter ?? sniffDelimiter(path, lines, quote, preferTab);
  const first = splitRecords(text, delimiter, quote, 1, complete)[0] ?? [];
  if (first.length === 0) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `'${path}' holds no complete first line to read columns from`,
    );
  }
  if (first.length === 1 && lines[0] !== undefined) {
    const likely = CANDIDATES.filter((d) => d !== delimiter && separators(lines[0], d, quote) > 0);
    if (likely.length > 0) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `'${path}' reads as one column with delimiter '${show(delimiter)}', but its first line holds '${show(likely[0])}': it looks '${show(likely[0])}'-separated; use --delimiter '${show(likely[0])}' (or csv: { delimiter: '${show(likely[0])}' })`,
      );
    }
  }
  return {
    delimiter,
    quote,
    header,
    columns: columnNames(first, header),
    sniffed: options.delimiter === undefined,
    mixedLineEndings: mixesLineEndings(path, text, complete),
  };
}

/**
 * The DuckDB table expression reading `path` as text columns under `dialect`; `nullValues` are
 * read as NULL (DuckDB's `nullstr`).
 */
export function csvReaderSql(
  path: string,
  dialect: CsvDialect,
  options: { nullValues?: string[] } = {},
): string {
  const columns = dialect.columns.map((c) => `${literal(c)}: 'VARCHAR'`).join(', ');
  const parts = [
    literal(path),
    'auto_detect = false',
    `header = ${dialect.header}`,
    `columns = {${columns}}`,
    `delim = ${literal(dialect.delimiter)}`,
    `quote = ${literal(dialect.quote)}`,
    `escape = ${literal(dialect.quote)}`,
    ...(dialect.mixedLineEndings ? ['strict_mode = false'] : []),
    ...(options.nullValues ? [`nullstr = [${options.nullValues.map(literal).join(', ')}]`] : []),
  ];
  return `read_csv(${parts.join(', ')})`;
}

/** The dialect in words, for reports: `';'-separated (sniffed), quote '"', with header`. */
export function describeDialect(d: CsvDialect): string {
  return `'${show(d.delimiter)}'-separated${d.sniffed ? ' (sniffed)' : ''}, ${d.quote ? `quote '${d.quote}'` : 'no quoting'}, ${d.header ? 'with a header' : 'no header'}`;
}
