/**
 * @module ml/load
 * Reads a training or evaluation table (CSV, CSV.gz, Parquet) through DuckDB into the typed
 * columns the trainers use. Numeric features become Float64Arrays (missing = NaN), read chunk by
 * chunk; string (categorical) features become codes: the index of the value among the column's
 * sorted distinct values, so the same file always gives the same codes, and a model carries its
 * category lists to encode new data the same way (an unseen category counts as missing).
 * A constant feature is kept (the trainers never split it and warn); a non-numeric value in a
 * numeric feature, a missing target column and missing labels are errors naming what is wrong.
 */
import type { DuckDBDataChunk, DuckDBInstance } from '@duckdb/node-api';
import { KeelError } from '../core/index.js';
import {
  type CsvOptions,
  csvDialect,
  csvReaderSql,
  ident,
  literal,
  loadDuckDB,
  requireFile,
} from '../data/index.js';
import type { FeatureMatrix } from './dataset.js';

export interface LoadOptions {
  /** CSV (optionally .gz) or Parquet file. */
  path: string;
  /** How error messages name the table (default: its path), e.g. when the file is temporary. */
  name?: string;
  /** Label column; omit to read features only. */
  target?: string;
  /** For a string target: the value that means class 1 (other values are 0). */
  positiveLabel?: string;
  /** Feature columns in order; default every column but the target and `extraColumns`. */
  features?: string[];
  /** String features to encode as codes; default the keys of `categories`, else none. */
  categorical?: string[];
  /** Known category lists (from a trained model) to encode with, instead of the file's. */
  categories?: Record<string, string[]>;
  /** Columns returned as text beside the features (a split column, a sensitive attribute). */
  extraColumns?: string[];
  /** Cell values that mean missing in a CSV. Default `''`, `NA` and `?`. */
  missingValues?: string[];
  /** The CSV dialect; what is left out is sniffed (data's one CSV reader). */
  csv?: CsvOptions;
}

export interface LoadedTable {
  x: FeatureMatrix;
  /** Labels (0/1 for a classification target), present when `target` was given. */
  y?: Float64Array;
  categorical: string[];
  categories: Record<string, string[]>;
  /** Text of each extra column; null where the value is missing. */
  extra: Record<string, Array<string | null>>;
  rows: number;
}

function source(path: string, missing: string[], csv?: CsvOptions): { sql: string; csv: boolean } {
  const lower = path.toLowerCase();
  if (lower.endsWith('.parquet')) {
    // A dataset glob of the offline store matches files; a plain path must exist.
    if (!path.includes('*')) requireFile(path);
    return { sql: `read_parquet(${literal(path)})`, csv: false };
  }
  if (/\.(csv|tsv|txt)(\.gz)?$/.test(lower)) {
    return { sql: csvReaderSql(path, csvDialect(path, csv), { nullValues: missing }), csv: true };
  }
  throw new KeelError(
    'INVALID_PARAMETER_VALUE',
    `cannot read '${path}': expected a .csv, .csv.gz or .parquet file`,
  );
}

type Connection = Awaited<ReturnType<DuckDBInstance['connect']>>;

/**
 * Loads a table in two streaming passes and no copy of it in DuckDB: the first counts the rows
 * (and collects the sorted distinct values of categorical columns), so that each feature's
 * Float64Array is allocated once at its final size; the second streams the columns cast in SQL
 * straight into those arrays, chunk by chunk. Numbers arrive as DOUBLE without NULLs (missing is
 * NaN), so no per-row objects and no validity masks are made; only text (categories, extra
 * columns, the target) crosses into JavaScript as strings.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST when the file cannot be read.
 * @throws KeelError INVALID_PARAMETER_VALUE when the target or a feature column does not exist.
 * @throws KeelError DATA_VALIDATION_FAILED for a non-numeric value in a numeric feature (naming
 *   the column, row and value), missing labels (naming the count), or an unusable string target.
 */
export async function loadTable(options: LoadOptions): Promise<LoadedTable> {
  const missing = options.missingValues ?? ['', 'NA', '?'];
  const name = options.name ?? options.path;
  const src = source(options.path, missing, options.csv);
  // One thread keeps the stream in file order, so rows are numbered as the file's.
  const instance = await (await loadDuckDB()).DuckDBInstance.create(':memory:', { threads: '1' });
  const db = await instance.connect();
  try {
    let described: Record<string, unknown>[];
    try {
      described = (await db.runAndReadAll(`DESCRIBE SELECT * FROM ${src.sql}`)).getRowObjectsJS();
    } catch (cause) {
      throw new KeelError('RESOURCE_DOES_NOT_EXIST', `cannot read '${name}': ${(cause as Error).message}`, {
        cause,
      });
    }
    const types = new Map(described.map((r) => [String(r.column_name), String(r.column_type)]));
    const columns = [...types.keys()];
    const need = (column: string, role: string) => {
      if (!types.has(column)) {
        throw new KeelError(
          'INVALID_PARAMETER_VALUE',
          `${role} column '${column}' is not in '${name}' (columns: ${columns.join(', ')})`,
        );
      }
    };
    if (options.target !== undefined) need(options.target, 'target');
    const extraColumns = options.extraColumns ?? [];
    for (const c of extraColumns) need(c, 'column');
    const features =
      options.features ?? columns.filter((c) => c !== options.target && !extraColumns.includes(c));
    for (const f of features) need(f, 'feature');
    // Categorical columns are named, never guessed: a typo in a numeric column must be an error.
    const categorical = options.categorical ?? Object.keys(options.categories ?? {});
    for (const c of categorical) need(c, 'categorical');
    const numeric = features.filter((f) => !categorical.includes(f));

    const toCollect = categorical.filter((c) => !options.categories?.[c]);
    const text = (c: string) => `CAST(${ident(c)} AS VARCHAR)`;
    const counted = await readAll(
      db,
      `SELECT count(*)${toCollect
        .map((c) => `, list(DISTINCT ${text(c)} ORDER BY ${text(c)}) FILTER (WHERE ${ident(c)} IS NOT NULL)`)
        .join('')} FROM ${src.sql}`,
      name,
    );
    const count = Number(counted[0]);
    const categories: Record<string, string[]> = {};
    for (const c of categorical) {
      const k = toCollect.indexOf(c);
      categories[c] = options.categories?.[c] ?? ((counted[1 + k] as string[] | null) ?? []).map(String);
    }

    const select = [
      ...features.map((f) =>
        categorical.includes(f) ? text(f) : `coalesce(CAST(${ident(f)} AS DOUBLE), 'NaN'::DOUBLE)`,
      ),
      ...extraColumns.map(text),
      ...(options.target !== undefined ? [text(options.target)] : []),
    ];
    const x = features.map(() => new Float64Array(count));
    const codes = features.map((f) =>
      categorical.includes(f) ? new Map(categories[f].map((v, i) => [v, i])) : undefined,
    );
    const extra: Record<string, Array<string | null>> = Object.fromEntries(
      extraColumns.map((c) => [c, new Array<string | null>(count)]),
    );
    const labels: Array<string | null> = options.target !== undefined ? new Array(count) : [];
    try {
      const result = await db.stream(`SELECT ${select.join(', ')} FROM ${src.sql}`);
      let offset = 0;
      for (
        let chunk = await result.fetchChunk();
        chunk && chunk.rowCount > 0;
        chunk = await result.fetchChunk()
      ) {
        const n = chunk.rowCount;
        for (let j = 0; j < features.length; j++) {
          const vector = chunk.getColumnVector(j);
          const map = codes[j];
          if (map) encodeCategories(vector, map, x[j], offset, n);
          else copyNumbers(vector, x[j], offset, n);
        }
        extraColumns.forEach((c, k) => {
          const vector = chunk.getColumnVector(features.length + k);
          for (let i = 0; i < n; i++) extra[c][offset + i] = vector.getItem(i) as string | null;
        });
        if (options.target !== undefined) {
          const vector = chunk.getColumnVector(select.length - 1);
          for (let i = 0; i < n; i++) labels[offset + i] = vector.getItem(i) as string | null;
        }
        offset += n;
      }
    } catch (cause) {
      // A cast that failed: find the first value that is not a number to name it.
      for (const f of numeric) await checkNumeric(db, src.sql, f, name, src.csv);
      throw new KeelError('DATA_VALIDATION_FAILED', `cannot read '${name}': ${(cause as Error).message}`, {
        cause,
      });
    }
    const table: LoadedTable = {
      x: { names: features, columns: x },
      categorical,
      categories,
      extra,
      rows: count,
    };
    if (options.target !== undefined) table.y = encodeLabels(labels, options.target, options.positiveLabel);
    return table;
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}

/** The first row of a query's result. */
async function readAll(db: Connection, sql: string, name: string): Promise<unknown[]> {
  try {
    return (await db.runAndReadAll(sql)).getRowsJS()[0];
  } catch (cause) {
    throw new KeelError('RESOURCE_DOES_NOT_EXIST', `cannot read '${name}': ${(cause as Error).message}`, {
      cause,
    });
  }
}

type Vector = ReturnType<DuckDBDataChunk['getColumnVector']>;

function copyNumbers(vector: Vector, out: Float64Array, offset: number, n: number): void {
  for (let i = 0; i < n; i++) out[offset + i] = vector.getItem(i) as number;
}

function encodeCategories(
  vector: Vector,
  codes: Map<string, number>,
  out: Float64Array,
  offset: number,
  n: number,
): void {
  for (let i = 0; i < n; i++) {
    const v = vector.getItem(i);
    out[offset + i] = v === null ? Number.NaN : (codes.get(v as string) ?? Number.NaN);
  }
}

async function checkNumeric(db: Connection, sql: string, column: string, path: string, csv: boolean) {
  const id = ident(column);
  const bad = (
    await db.runAndReadAll(
      `SELECT row, v FROM (SELECT row_number() OVER () AS row, CAST(${id} AS VARCHAR) AS v, TRY_CAST(${id} AS DOUBLE) AS d FROM ${sql}) WHERE v IS NOT NULL AND d IS NULL ORDER BY row LIMIT 1`,
    )
  ).getRowsJS();
  if (bad.length === 0) return;
  const [row, value] = bad[0];
  const where = csv ? `row ${row} (line ${Number(row) + 1})` : `row ${row}`;
  throw new KeelError(
    'DATA_VALIDATION_FAILED',
    `numeric feature '${column}' has a non-numeric value '${value}' at ${where} of '${path}'; list it under categorical or fix the data`,
    { details: { column, row: Number(row), value } },
  );
}

function encodeLabels(
  labels: Array<string | null>,
  target: string,
  positive: string | undefined,
): Float64Array {
  const missing = labels.reduce((s, v) => s + (v === null ? 1 : 0), 0);
  if (missing > 0) {
    throw new KeelError(
      'DATA_VALIDATION_FAILED',
      `target '${target}' is missing in ${missing} of ${labels.length} rows`,
      {
        details: { column: target, missingLabels: missing },
      },
    );
  }
  if (positive !== undefined) return Float64Array.from(labels, (v) => (v === positive ? 1 : 0));
  const y = Float64Array.from(labels, (v) => Number(v));
  const bad = labels.findIndex((v, i) => Number.isNaN(y[i]) || v?.trim() === '');
  if (bad >= 0) {
    throw new KeelError(
      'DATA_VALIDATION_FAILED',
      `target '${target}' has a non-numeric value '${labels[bad]}' at row ${bad + 1}; set positiveLabel for a text target`,
    );
  }
  return y;
}
