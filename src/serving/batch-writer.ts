/**
 * @module serving/batch-writer
 * The streaming half of batch scoring: reads a file through DuckDB with every model column
 * encoded in SQL, gathers rows into chunks, scores each chunk and writes it as a Parquet part,
 * then merges the parts into one file. See `batch.ts` for the public call and its guarantees.
 */
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBAppender, DuckDBConnection, DuckDBDataChunk, DuckDBType } from '@duckdb/node-api';
import { invalid, KeelError, type ProgressFn } from '../core/index.js';
import {
  type CsvOptions,
  csvDialect,
  type DuckDBModule,
  detectFormat,
  ident,
  literal,
  loadDuckDB,
  readerSql,
} from '../data/index.js';
import type { ServingModel } from './model.js';

const NUMERIC_TYPE =
  /^(BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL\(.*\))$/;

/**
 * The streamed columns: `keep`, then one DOUBLE per model column, then, when a model column is
 * text, the index of the first one in the row holding a value that is not a number (-1 if none).
 */
interface Plan {
  source: string;
  select: string;
  checked: boolean;
  /** The file's columns feeding the model, in order. */
  names: string[];
}

const NAN = "'NaN'::DOUBLE";

/**
 * The file's columns feeding the model, in order: the given names, else the file's own columns
 * besides the kept ones when there are as many as the model takes.
 */
function modelColumns(
  model: ServingModel,
  given: string[] | undefined,
  types: Map<string, string>,
  keep: string[],
  file: string,
): string[] {
  const { name, version } = model.info;
  if (given) {
    if (given.length !== model.width)
      throw invalid(
        `${name} version ${version} takes ${model.width} values a row; ${given.length} column names given (${given.join(', ')})`,
      );
    return given;
  }
  const rest = [...types.keys()].filter((c) => !keep.includes(c));
  if (rest.length !== model.width)
    throw invalid(
      `${name} version ${version} names no columns and takes ${model.width} values a row, but '${file}' has ${rest.length} columns besides the kept ones (${rest.join(', ')}): name the model's columns in order (columns / --columns)`,
    );
  return rest;
}

/**
 * How a CSV's kept columns are typed: as DuckDB types the whole file (`sample_size = -1`, so no
 * later row contradicts it; '007' stays text), except that integers too long for BIGINT stay
 * text rather than become rounded doubles.
 */
export async function keptCsvTypes(
  conn: DuckDBConnection,
  path: string,
  keep: string[],
  csv: CsvOptions | undefined,
): Promise<string[]> {
  // The file's own dialect (delimiter, quote, header), with DuckDB sniffing the kept columns' types.
  const d = csvDialect(path, csv);
  const dialect = [
    `header = ${d.header}`,
    `delim = ${literal(d.delimiter)}`,
    `quote = ${literal(d.quote)}`,
    `escape = ${literal(d.quote)}`,
    ...(d.header ? [] : [`names = [${d.columns.map(literal).join(', ')}]`]),
    ...(d.mixedLineEndings ? ['strict_mode = false'] : []),
  ].join(', ');
  const sniffed = `read_csv(${literal(path)}, ${dialect}, sample_size = -1)`;
  const rows = (
    await conn.runAndReadAll(`DESCRIBE SELECT ${keep.map(ident).join(', ')} FROM ${sniffed}`)
  ).getRowObjectsJS();
  const types = rows.map((r) => String(r.column_type));
  for (let i = 0; i < keep.length; i++) {
    if (!/^(DOUBLE|FLOAT|DECIMAL)/.test(types[i])) continue;
    // Integers of 16 digits or more would lose digits as a DOUBLE: kept as their text.
    const raw = `read_csv(${literal(path)}, ${dialect}, all_varchar = true)`;
    const long = (
      await conn.runAndReadAll(
        `SELECT count(*) FROM ${raw} WHERE regexp_matches(${ident(keep[i])}, '^\\s*[+-]?[0-9]{16,}\\s*$')`,
      )
    ).getColumnsJS()[0][0];
    if (Number(long) > 0) types[i] = 'VARCHAR';
  }
  return types;
}

function plan(
  model: ServingModel,
  names: string[],
  source: string,
  types: Map<string, string>,
  keep: string[],
  keepTypes: Array<string | undefined>,
  file: string,
): Plan {
  const missing = names.filter((f) => !types.has(f));
  if (missing.length > 0)
    throw invalid(
      `'${file}' lacks the model's column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `'${c}'`).join(', ')} (${model.info.name} version ${model.info.version} takes ${names.join(', ')})`,
      { columns: missing },
    );
  const absent = keep.filter((k) => !types.has(k));
  if (absent.length > 0)
    throw invalid(
      `'${file}' has no column ${absent.map((c) => `'${c}'`).join(', ')} to keep (columns: ${[...types.keys()].join(', ')})`,
    );
  // Everything is encoded in SQL and arrives as DOUBLE without NULLs (missing is NaN): DuckDB's
  // vectors then carry no validity mask, whose per-row check costs more than the copy itself,
  // and category strings never cross into JavaScript.
  const checks: string[] = [];
  const features = names.map((f, j) => {
    const id = ident(f);
    // Categories belong to the model's own column names, whatever the file calls the column.
    const categories = model.categories[model.info.features[j] ?? f];
    if (categories) {
      if (categories.length === 0) return NAN;
      const codes = categories.map((c, i) => `${literal(c)}: ${i}`).join(', ');
      return `coalesce(MAP {${codes}}[CAST(${id} AS VARCHAR)], ${NAN})`;
    }
    const type = types.get(f) as string;
    if (NUMERIC_TYPE.test(type)) return `coalesce(CAST(${id} AS DOUBLE), ${NAN})`;
    if (type !== 'VARCHAR')
      throw invalid(`column '${f}' of '${file}' is ${type}; ${model.info.name} takes it as a number`);
    // '' is missing, as in a request; any other text that is not a number is refused.
    checks.push(`WHEN NULLIF(${id}, '') IS NOT NULL AND TRY_CAST(${id} AS DOUBLE) IS NULL THEN ${j}`);
    return `coalesce(TRY_CAST(${id} AS DOUBLE), ${NAN})`;
  });
  const columns = [
    ...keep.map((k, i) => {
      const type = keepTypes[i];
      return `${type && type !== 'VARCHAR' ? `CAST(${ident(k)} AS ${type})` : ident(k)} AS __keel_k${i}`;
    }),
    ...features.map((sql, j) => `${sql} AS __keel_f${j}`),
    ...(checks.length > 0 ? [`CASE ${checks.join(' ')} ELSE -1 END AS __keel_bad`] : []),
  ];
  return { source, select: columns.join(', '), checked: checks.length > 0, names };
}

export interface WriteJob {
  model: ServingModel;
  /** The file's columns feeding the model, for a model that names none (else its own names). */
  columns?: string[];
  input: string;
  /** How messages name the input. */
  name: string;
  csv?: CsvOptions;
  keep: string[];
  chunkRows: number;
  /** Only these rows of a Parquet input, by position (a chunk of a distributed job). */
  range?: RowRange;
  parts: string;
  file: string;
  progress: ProgressFn;
}

export interface RowRange {
  /** The first row, counted from 0. */
  first: number;
  count: number;
}

/**
 * The rows `range` names of a Parquet file: the row-number filter skips the row groups outside
 * it, and the rows keep the file's order.
 */
export const parquetRangeSql = (path: string, range: RowRange): string =>
  `(SELECT * EXCLUDE (file_row_number) FROM read_parquet(${literal(path)}, file_row_number = true) WHERE file_row_number >= ${range.first} AND file_row_number < ${range.first + range.count})`;

/** Streams, scores and writes `job.input` into `job.file`; returns the row count. */
export async function writeScores(job: WriteJob): Promise<number> {
  const duckdb = await loadDuckDB();
  const instance = await duckdb.DuckDBInstance.create(':memory:');
  // The input streams on one connection while chunks are staged and written on another: any
  // statement on the streaming connection (an appender's flush too) would end the stream.
  const reader = await instance.connect();
  const writer = await instance.connect();
  try {
    const format = detectFormat(job.input);
    const source = job.range ? parquetRangeSql(job.input, job.range) : readerSql(job.input, format, job.csv);
    const types = await describe(reader, source, job.name);
    const own = job.model.info.features;
    const names = modelColumns(
      job.model,
      job.columns ?? (own.length > 0 ? own : undefined),
      types,
      job.keep,
      job.name,
    );
    // A CSV's cells are text; a kept column gets the type its values have, as a Parquet's has.
    const keepTypes =
      format === 'csv' && job.keep.every((k) => types.has(k)) && job.keep.length > 0
        ? await keptCsvTypes(reader, job.input, job.keep, job.csv)
        : [];
    const p = plan(job.model, names, source, types, job.keep, keepTypes, job.name);
    const total = job.range
      ? job.range.count
      : source.startsWith('read_parquet')
        ? Number((await reader.runAndReadAll(`SELECT count(*) FROM ${source}`)).getColumnsJS()[0][0])
        : undefined;
    const stream = await reader.stream(`SELECT ${p.select} FROM ${source}`);
    const chunks = new ChunkWriter(
      duckdb,
      writer,
      job,
      p,
      stream.columnTypes().slice(0, job.keep.length),
      total,
    );
    try {
      for (let chunk = await fetch(stream, job.name); chunk; chunk = await fetch(stream, job.name)) {
        await chunks.add(chunk);
      }
      return await chunks.finish(job.file);
    } finally {
      chunks.close();
    }
  } finally {
    writer.closeSync();
    reader.closeSync();
    instance.closeSync();
  }
}

async function describe(conn: DuckDBConnection, source: string, file: string): Promise<Map<string, string>> {
  try {
    const rows = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)).getRowObjectsJS();
    return new Map(rows.map((r) => [String(r.column_name), String(r.column_type)]));
  } catch (cause) {
    throw new KeelError('DATA_VALIDATION_FAILED', `cannot read '${file}': ${(cause as Error).message}`, {
      cause,
    });
  }
}

type Stream = Awaited<ReturnType<DuckDBConnection['stream']>>;

async function fetch(stream: Stream, file: string): Promise<DuckDBDataChunk | undefined> {
  try {
    const chunk = await stream.fetchChunk();
    return chunk && chunk.rowCount > 0 ? chunk : undefined;
  } catch (cause) {
    throw new KeelError('DATA_VALIDATION_FAILED', `cannot read '${file}': ${(cause as Error).message}`, {
      cause,
    });
  }
}

/**
 * Gathers streamed rows into chunks, scores each and writes it as one Parquet part: the `keep`
 * columns are staged in a DuckDB table (only those: staging every streamed column cost more than
 * reading them), the scores in another, and the two are paired by position.
 */
class ChunkWriter {
  private readonly width: number;
  private readonly x: Float32Array;
  private readonly parts: string[] = [];
  private staged?: DuckDBAppender;
  /** Rows in the current chunk. */
  private rows = 0;
  /** Rows written in earlier chunks. */
  private done = 0;

  constructor(
    private readonly duckdb: DuckDBModule,
    private readonly conn: DuckDBConnection,
    private readonly job: WriteJob,
    private readonly plan: Plan,
    private readonly keepTypes: DuckDBType[],
    private readonly total: number | undefined,
  ) {
    this.width = job.model.width;
    this.x = new Float32Array((job.chunkRows + 2048) * this.width);
  }

  async add(chunk: DuckDBDataChunk): Promise<void> {
    if (this.keepTypes.length > 0) {
      this.staged ??= await this.stage();
      const kept = this.duckdb.DuckDBDataChunk.create(this.keepTypes, chunk.rowCount);
      for (let k = 0; k < this.keepTypes.length; k++) kept.setColumnValues(k, chunk.getColumnValues(k));
      this.staged.appendDataChunk(kept);
    }
    this.encode(chunk);
    if (this.plan.checked) await this.check(chunk);
    this.rows += chunk.rowCount;
    if (this.rows >= this.job.chunkRows) await this.write();
  }

  /** Writes the last chunk and the parts' union to `file`; returns the row count. */
  async finish(file: string): Promise<number> {
    if (this.rows > 0 || this.parts.length === 0) await this.write();
    if (this.parts.length === 1) renameSync(this.parts[0], file);
    else {
      const list = this.parts.map(literal).join(', ');
      await this.conn.run(
        `COPY (SELECT * FROM read_parquet([${list}])) TO ${literal(file)} (FORMAT parquet)`,
      );
    }
    return this.done;
  }

  /** Drops a chunk left staged by a failure, before its connection closes. */
  close(): void {
    this.staged?.clear();
    this.staged?.closeSync();
    this.staged = undefined;
  }

  /** A fresh staging table for one chunk's kept columns (dropping the last one frees its memory). */
  private async stage(): Promise<DuckDBAppender> {
    const columns = this.keepTypes.map((type, i) => `__keel_k${i} ${type.toString()}`);
    await this.conn.run(`CREATE OR REPLACE TABLE __keel_rows (${columns.join(', ')})`);
    return this.conn.createAppender('__keel_rows');
  }

  private encode(chunk: DuckDBDataChunk): void {
    const { width, x, rows } = this;
    const first = this.keepTypes.length;
    const n = chunk.rowCount;
    for (let j = 0; j < width; j++) {
      const vector = chunk.getColumnVector(first + j);
      for (let i = 0; i < n; i++) x[(rows + i) * width + j] = vector.getItem(i) as number;
    }
  }

  /** Refuses the first value that is not a number; the value itself is read again to name it. */
  private async check(chunk: DuckDBDataChunk): Promise<void> {
    const bad = chunk.getColumnVector(this.keepTypes.length + this.width);
    for (let i = 0; i < chunk.rowCount; i++) {
      const j = bad.getItem(i) as number;
      if (j < 0) continue;
      const column = this.plan.names[j];
      const row = this.done + this.rows + i + 1;
      const inFile = row + (this.job.range?.first ?? 0);
      const value = (
        await this.conn.runAndReadAll(
          `SELECT CAST(${ident(column)} AS VARCHAR) FROM ${this.plan.source} LIMIT 1 OFFSET ${row - 1}`,
        )
      ).getColumnsJS()[0][0];
      throw new KeelError(
        'DATA_VALIDATION_FAILED',
        `column '${column}', row ${inFile} of '${this.job.name}': ${JSON.stringify(value)} is not a number`,
        { details: { column, row: inFile, value } },
      );
    }
  }

  private async write(): Promise<void> {
    const { job, rows } = this;
    const kept = this.keepTypes.length > 0;
    if (kept) {
      const staged = this.staged ?? (await this.stage());
      staged.closeSync();
      this.staged = undefined;
    }
    await this.conn.run('CREATE OR REPLACE TABLE __keel_scores (score DOUBLE)');
    if (rows > 0) {
      const scores = await job.model.score(this.x.subarray(0, rows * this.width), rows);
      const appender = await this.conn.createAppender('__keel_scores');
      for (let at = 0; at < rows; at += 2048) {
        const slice = scores.subarray(at, Math.min(rows, at + 2048));
        const chunk = this.duckdb.DuckDBDataChunk.create([this.duckdb.DOUBLE], slice.length);
        chunk.setColumnValues(0, Array.from(slice));
        appender.appendDataChunk(chunk);
      }
      appender.closeSync();
    }
    const part = join(job.parts, `part-${String(this.parts.length).padStart(6, '0')}.parquet`);
    const { name, version } = job.model.info;
    const columns = [
      ...job.keep.map((k, i) => `__keel_k${i} AS ${ident(k)}`),
      's.score AS score',
      `${literal(name)} AS model_name`,
      `${literal(version)} AS model_version`,
    ];
    // POSITIONAL JOIN pairs the n-th staged row with the n-th score: both were appended in order.
    const from = kept ? '__keel_rows POSITIONAL JOIN __keel_scores s' : '__keel_scores s';
    await this.conn.run(
      `COPY (SELECT ${columns.join(', ')} FROM ${from}) TO ${literal(part)} (FORMAT parquet)`,
    );
    this.parts.push(part);
    this.done += rows;
    this.rows = 0;
    job.progress({
      label: `score ${name} version ${version}`,
      done: this.done,
      total: this.total,
      unit: 'rows',
    });
  }
}
