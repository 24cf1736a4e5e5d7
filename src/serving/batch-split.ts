/**
 * @module serving/batch-split
 * Plans the chunks of a file to score over workers: ranges of `chunkRows` rows of one Parquet
 * file, which each worker reads on its own (`scoreDataset`'s `rows`; the row-number filter skips
 * the row groups outside a range). A Parquet input is read in place; a CSV or JSON file is first
 * copied once to Parquet, in its order, with a CSV's cells kept as text (as `scoreDataset` reads
 * them) except the kept columns, typed once for the whole file as `scoreDataset` types them, so
 * every chunk's output has the same column types whatever rows it holds.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { invalid, KeelError, notFound } from '../core/index.js';
import { type CsvOptions, detectFormat, ident, literal, readerSql, withDuckDB } from '../data/index.js';
import { keptCsvTypes, type RowRange } from './batch-writer.js';

export interface ChunkOptions {
  input: string;
  csv?: CsvOptions;
  /** Columns kept beside the score: a CSV's are typed over the whole file. */
  keep: string[];
  chunkRows: number;
  /** Where a CSV or JSON input's Parquet copy is written. */
  dir: string;
}

export interface ChunkPlan {
  /** The Parquet file the chunks are ranges of: the input, or its copy in `dir`. */
  file: string;
  rows: number;
  /** In order; an empty input has one empty chunk. */
  chunks: RowRange[];
}

const readError = (input: string, cause: unknown) =>
  new KeelError('DATA_VALIDATION_FAILED', `cannot read '${input}': ${(cause as Error).message}`, { cause });

/**
 * @throws KeelError RESOURCE_DOES_NOT_EXIST for a missing input; DATA_VALIDATION_FAILED for input
 *   DuckDB cannot read; INVALID_PARAMETER_VALUE for a kept column the file lacks.
 */
export async function planChunks(o: ChunkOptions): Promise<ChunkPlan> {
  if (!existsSync(o.input)) throw notFound(`input file '${o.input}' does not exist`);
  const format = detectFormat(o.input);
  const source = readerSql(o.input, format, o.csv);
  return withDuckDB(async (conn) => {
    const names = (
      await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`).catch((cause) => {
        throw readError(o.input, cause);
      })
    )
      .getRowObjectsJS()
      .map((r) => String(r.column_name));
    const absent = o.keep.filter((k) => !names.includes(k));
    if (absent.length > 0)
      throw invalid(
        `'${o.input}' has no column ${absent.map((c) => `'${c}'`).join(', ')} to keep (columns: ${names.join(', ')})`,
      );
    let file = o.input;
    if (format !== 'parquet') {
      const types =
        format === 'csv' && o.keep.length > 0 ? await keptCsvTypes(conn, o.input, o.keep, o.csv) : [];
      const select = names
        .map((n) => {
          const type = types[o.keep.indexOf(n)];
          return type && type !== 'VARCHAR' ? `CAST(${ident(n)} AS ${type}) AS ${ident(n)}` : ident(n);
        })
        .join(', ');
      mkdirSync(o.dir, { recursive: true });
      file = join(o.dir, 'input.parquet');
      await conn
        .run(`COPY (SELECT ${select} FROM ${source}) TO ${literal(file)} (FORMAT parquet)`)
        .catch((cause) => {
          throw readError(o.input, cause);
        });
    }
    const rows = Number(
      (await conn.runAndReadAll(`SELECT count(*) FROM read_parquet(${literal(file)})`)).getColumnsJS()[0][0],
    );
    const chunks: RowRange[] = [];
    for (let first = 0; first === 0 || first < rows; first += o.chunkRows)
      chunks.push({ first, count: Math.max(0, Math.min(o.chunkRows, rows - first)) });
    return { file, rows, chunks };
  });
}
