/**
 * @module data/formats
 * Which DuckDB table function reads a file. CSV is read as text throughout so that a value of the
 * wrong type becomes a reported failure instead of a DuckDB error, through the one CSV reader
 * (`csv.ts`): a known dialect, never DuckDB's sniffer, which facing a ragged row picks another
 * delimiter or skips lines where a fixed one makes DuckDB name the row.
 */
import { KeelError } from '../core/index.js';
import { type CsvOptions, csvDialect, csvReaderSql } from './csv.js';
import { literal, queryRows, withDuckDB } from './sql.js';
import type { DataFormat } from './types.js';

const EXTENSIONS: Record<string, DataFormat> = {
  csv: 'csv',
  tsv: 'csv',
  parquet: 'parquet',
  pq: 'parquet',
  json: 'json',
  ndjson: 'json',
  jsonl: 'json',
};

/**
 * The format of `path` from its extension, looking through `.gz` and `.zst`.
 * @throws KeelError INVALID_PARAMETER_VALUE when the extension names no known format.
 */
export function detectFormat(path: string): DataFormat {
  const ext = extensionOf(path);
  const format = EXTENSIONS[ext];
  if (!format) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `Cannot tell the format of '${path}' from its extension '.${ext}': use .csv, .csv.gz, .parquet, .json or .ndjson, or give the format explicitly`,
    );
  }
  return format;
}

/** A file's extension in lower case, looking through `.gz` and `.zst`. */
function extensionOf(path: string): string {
  const parts = path.toLowerCase().split('/').pop()!.split('.');
  const ext = parts.pop() ?? '';
  return (ext === 'gz' || ext === 'zst') && parts.length > 1 ? parts.pop()! : ext;
}

/**
 * The SQL table expression that reads `path` in `format`; a CSV with the dialect `csv` gives,
 * the rest sniffed (`csvDialect`).
 * @throws KeelError as `csvDialect` for a CSV: a missing file, an ambiguous delimiter.
 */
export function readerSql(path: string, format: DataFormat, csv: CsvOptions = {}): string {
  switch (format) {
    case 'csv':
      // zstd is not readable from Node 20 to sniff: DuckDB reads it under the given (or comma) dialect.
      if (path.toLowerCase().endsWith('.zst')) {
        return `read_csv(${literal(path)}, all_varchar = true, header = ${csv.header ?? true}, delim = ${literal(csv.delimiter ?? (extensionOf(path) === 'tsv' ? '\t' : ','))}, quote = ${literal(csv.quote ?? '"')})`;
      }
      return csvReaderSql(path, csvDialect(path, csv));
    case 'parquet':
      return `read_parquet(${literal(path)})`;
    case 'json':
      return `read_json(${literal(path)}, format = 'auto')`;
  }
}

/**
 * The column names of a file (or a Parquet glob such as a dataset's), in order: a CSV's from its
 * header under its dialect, without starting DuckDB; other formats from DuckDB's DESCRIBE.
 * @throws KeelError as `readerSql`; INVALID_PARAMETER_VALUE when DuckDB cannot read the file.
 */
export async function fileColumns(path: string, csv: CsvOptions = {}): Promise<string[]> {
  const format = detectFormat(path);
  if (format === 'csv' && !path.toLowerCase().endsWith('.zst')) return csvDialect(path, csv).columns;
  return withDuckDB(async (conn) => {
    try {
      const rows = await queryRows(conn, `DESCRIBE SELECT * FROM ${readerSql(path, format, csv)}`);
      return rows.map((r) => String(r.column_name));
    } catch (cause) {
      const reason = (cause as Error).message.split('\n')[0];
      throw new KeelError('INVALID_PARAMETER_VALUE', `Cannot read '${path}': ${reason}`, { cause });
    }
  });
}
