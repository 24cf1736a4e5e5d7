/**
 * @module data/formats
 * Which DuckDB table function reads a file. CSV is read as text throughout (`all_varchar`) so
 * that a value of the wrong type becomes a reported failure instead of a DuckDB error. Its
 * delimiter comes from the extension, not the sniffer: a sniffer facing a ragged row picks
 * another delimiter or skips lines, where a fixed one makes DuckDB name the row.
 */
import { KeelError } from '../core/index.js';
import { literal } from './sql.js';
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

/** The SQL table expression that reads `path` in `format`. */
export function readerSql(path: string, format: DataFormat): string {
  switch (format) {
    case 'csv':
      return `read_csv(${literal(path)}, all_varchar = true, header = true, skip = 0, delim = ${extensionOf(path) === 'tsv' ? "'\t'" : "','"})`;
    case 'parquet':
      return `read_parquet(${literal(path)})`;
    case 'json':
      return `read_json(${literal(path)}, format = 'auto')`;
  }
}
