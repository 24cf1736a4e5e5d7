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
import { DuckDBInstance } from '@duckdb/node-api';
import { KeelError } from '../core/index.js';
import { type CsvOptions, csvDialect, csvReaderSql, ident, literal, requireFile } from '../data/index.js';
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
  extra: Record<string, string[]>;
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

/**
 * Loads a table.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST when the file cannot be read.
 * @throws KeelError INVALID_PARAMETER_VALUE when the target or a feature column does not exist.
 * @throws KeelError DATA_VALIDATION_FAILED for a non-numeric value in a numeric feature (naming
 *   the column, row and value), missing labels (naming the count), or an unusable string target.
 */
export async function loadTable(options: LoadOptions): Promise<LoadedTable> {
  const missing = options.missingValues ?? ['', 'NA', '?'];
  const name = options.name ?? options.path;
  const src = source(options.path, missing, options.csv);
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const db = await instance.connect();
  try {
    try {
      // One thread keeps row_number() in file order, so error messages name the right row; CSV cells
      // are read as text (no type sniffing turns 'yes' into a boolean) and cast where needed.
      await db.run(`CREATE TEMP TABLE src AS SELECT row_number() OVER () AS __keel_row, * FROM ${src.sql}`);
    } catch (cause) {
      throw new KeelError('RESOURCE_DOES_NOT_EXIST', `cannot read '${name}': ${(cause as Error).message}`, {
        cause,
      });
    }
    const described = (await db.runAndReadAll('DESCRIBE src')).getRowObjectsJS();
    const types = new Map(described.map((r) => [String(r.column_name), String(r.column_type)]));
    types.delete('__keel_row');
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
    for (const f of numeric) await checkNumeric(db, f, name, src.csv);
    const categories: Record<string, string[]> = {};
    for (const c of categorical) {
      categories[c] =
        options.categories?.[c] ??
        (
          await db.runAndReadAll(
            `SELECT DISTINCT CAST(${ident(c)} AS VARCHAR) AS v FROM src WHERE ${ident(c)} IS NOT NULL ORDER BY v`,
          )
        )
          .getColumnsJS()[0]
          .map(String);
    }
    const select = [
      ...features.map((f) =>
        categorical.includes(f) ? `CAST(${ident(f)} AS VARCHAR)` : `CAST(${ident(f)} AS DOUBLE)`,
      ),
      ...extraColumns.map((c) => `CAST(${ident(c)} AS VARCHAR)`),
      ...(options.target !== undefined ? [`CAST(${ident(options.target)} AS VARCHAR)`] : []),
    ];
    const count = Number((await db.runAndReadAll('SELECT count(*) FROM src')).getColumnsJS()[0][0]);
    const x = features.map(() => new Float64Array(count));
    const codes = features.map((f) =>
      categorical.includes(f) ? new Map(categories[f].map((v, i) => [v, i])) : undefined,
    );
    const extra: Record<string, string[]> = Object.fromEntries(
      extraColumns.map((c) => [c, new Array<string>(count)]),
    );
    const labels: Array<string | null> = options.target !== undefined ? new Array(count) : [];
    const result = await db.stream(`SELECT ${select.join(', ')} FROM src ORDER BY __keel_row`);
    let offset = 0;
    for (
      let chunk = await result.fetchChunk();
      chunk && chunk.rowCount > 0;
      chunk = await result.fetchChunk()
    ) {
      const n = chunk.rowCount;
      features.forEach((_, j) => {
        const vector = chunk.getColumnVector(j);
        const out = x[j];
        const map = codes[j];
        for (let i = 0; i < n; i++) {
          const v = vector.getItem(i);
          out[offset + i] =
            v === null ? Number.NaN : map ? (map.get(v as string) ?? Number.NaN) : (v as number);
        }
      });
      extraColumns.forEach((c, k) => {
        const vector = chunk.getColumnVector(features.length + k);
        for (let i = 0; i < n; i++) extra[c][offset + i] = String(vector.getItem(i) ?? '');
      });
      if (options.target !== undefined) {
        const vector = chunk.getColumnVector(select.length - 1);
        for (let i = 0; i < n; i++) labels[offset + i] = vector.getItem(i) as string | null;
      }
      offset += n;
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

async function checkNumeric(
  db: Awaited<ReturnType<DuckDBInstance['connect']>>,
  column: string,
  path: string,
  csv: boolean,
) {
  const id = ident(column);
  const bad = (
    await db.runAndReadAll(
      `SELECT __keel_row, CAST(${id} AS VARCHAR) FROM src WHERE ${id} IS NOT NULL AND TRY_CAST(${id} AS DOUBLE) IS NULL ORDER BY __keel_row LIMIT 1`,
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
