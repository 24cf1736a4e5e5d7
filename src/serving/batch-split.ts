/**
 * @module serving/batch-split
 * Splits a file to score into Parquet chunk files of `chunkRows` rows each, for scoring spread
 * over workers: chunk i holds the rows i*chunkRows .. (i+1)*chunkRows - 1 of
 * the input, in the input's order. A CSV's cells stay text (as `scoreDataset` reads them) except
 * the kept columns, typed once for the whole file as `scoreDataset` types them, so every chunk's
 * output has the same column types whatever rows it holds.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { invalid, KeelError, notFound } from '../core/index.js';
import { type CsvOptions, detectFormat, ident, literal, readerSql, withDuckDB } from '../data/index.js';
import { keptCsvTypes } from './batch-writer.js';

export interface SplitOptions {
  input: string;
  csv?: CsvOptions;
  /** Columns kept beside the score: a CSV's are typed over the whole file before it is split. */
  keep: string[];
  chunkRows: number;
  /** An empty folder to write `chunk-000000.parquet`, ... into. */
  dir: string;
}

export interface SplitChunk {
  index: number;
  path: string;
  rows: number;
  /** The chunk's first row in the input, counted from 0. */
  firstRow: number;
}

export const chunkName = (index: number, stem = 'chunk'): string =>
  `${stem}-${String(index).padStart(6, '0')}.parquet`;

/**
 * Writes the chunks and returns them in order; an empty input gives one empty chunk.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST for a missing input; DATA_VALIDATION_FAILED for input
 *   DuckDB cannot read; INVALID_PARAMETER_VALUE for a kept column the file lacks.
 */
export async function splitInput(o: SplitOptions): Promise<SplitChunk[]> {
  if (!existsSync(o.input)) throw notFound(`input file '${o.input}' does not exist`);
  const format = detectFormat(o.input);
  const source = readerSql(o.input, format, o.csv);
  mkdirSync(o.dir, { recursive: true });
  return withDuckDB(async (conn) => {
    let names: string[];
    try {
      names = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`))
        .getRowObjectsJS()
        .map((r) => String(r.column_name));
    } catch (cause) {
      throw new KeelError('DATA_VALIDATION_FAILED', `cannot read '${o.input}': ${(cause as Error).message}`, {
        cause,
      });
    }
    const absent = o.keep.filter((k) => !names.includes(k));
    if (absent.length > 0)
      throw invalid(
        `'${o.input}' has no column ${absent.map((c) => `'${c}'`).join(', ')} to keep (columns: ${names.join(', ')})`,
      );
    const types =
      format === 'csv' && o.keep.length > 0 ? await keptCsvTypes(conn, o.input, o.keep, o.csv) : [];
    // Chunks are cut from a Parquet file by row number: the input itself, or a copy of a CSV or
    // JSON file (in the input's order) with a CSV's kept columns typed for the whole file.
    let parquet = o.input;
    if (format !== 'parquet') {
      parquet = join(o.dir, 'input.parquet');
      const select = names
        .map((n) => {
          const type = types[o.keep.indexOf(n)];
          return type && type !== 'VARCHAR' ? `CAST(${ident(n)} AS ${type}) AS ${ident(n)}` : ident(n);
        })
        .join(', ');
      await conn
        .run(`COPY (SELECT ${select} FROM ${source}) TO ${literal(parquet)} (FORMAT parquet)`)
        .catch((cause: Error) => {
          throw new KeelError('DATA_VALIDATION_FAILED', `cannot read '${o.input}': ${cause.message}`, {
            cause,
          });
        });
    }
    const total = Number(
      (
        await conn.runAndReadAll(`SELECT count(*) FROM read_parquet(${literal(parquet)})`)
      ).getColumnsJS()[0][0],
    );
    const chunks: SplitChunk[] = [];
    // The row-number filter skips the row groups outside the chunk, and the rows keep the file's
    // order; an empty input still gives one (empty) chunk.
    for (let index = 0; index === 0 || index * o.chunkRows < total; index++) {
      const firstRow = index * o.chunkRows;
      const path = join(o.dir, chunkName(index));
      await conn.run(
        `COPY (SELECT * EXCLUDE (file_row_number) FROM read_parquet(${literal(parquet)}, file_row_number = true) WHERE file_row_number >= ${firstRow} AND file_row_number < ${firstRow + o.chunkRows}) TO ${literal(path)} (FORMAT parquet)`,
      );
      chunks.push({ index, path, rows: Math.max(0, Math.min(o.chunkRows, total - firstRow)), firstRow });
    }
    if (parquet !== o.input) rmSync(parquet, { force: true });
    return chunks;
  });
}
