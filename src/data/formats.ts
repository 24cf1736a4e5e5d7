/**
 * @module data/formats
 * Which DuckDB table function reads a file. CSV is read as text throughout (`all_varchar`) so
 * that a value of the wrong type becomes a reported failure instead of a DuckDB error.
 */
import { KeelError } from '../core/index.js';
import { literal } from './sql.js';
import type { DataFormat } from './types.js';

const EXTENSIONS: Record<string, DataFormat> = {
  csv: 'csv',
  tsv: 'csv',
  txt: 'csv',
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
  const parts = path.toLowerCase().split('/').pop()!.split('.');
  let ext = parts.pop() ?? '';
  if ((ext === 'gz' || ext === 'zst') && parts.length > 1) ext = parts.pop()!;
  const format = EXTENSIONS[ext];
  if (!format) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `Cannot tell the format of '${path}' from its extension '.${ext}': use .csv, .csv.gz, .parquet, .json or .ndjson, or give the format explicitly`,
    );
  }
  return format;
}

/** The SQL table expression that reads `path` in `format`. */
export function readerSql(path: string, format: DataFormat): string {
  switch (format) {
    case 'csv':
      return `read_csv(${literal(path)}, all_varchar = true, header = true)`;
    case 'parquet':
      return `read_parquet(${literal(path)})`;
    case 'json':
      return `read_json(${literal(path)}, format = 'auto')`;
  }
}
