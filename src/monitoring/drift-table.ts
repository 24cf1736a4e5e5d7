/**
 * @module monitoring/drift-table
 * Reads a Parquet or CSV file into the columns `detectDrift` takes, through `ml/load`'s
 * `loadTable`: number columns become Float64Arrays (missing = NaN), text columns categories
 * (missing = null). Parquet says which columns are numbers; a CSV column counts as numeric when
 * every present cell parses as a number, so `1,2,NA` is numeric and `a,b` is categorical.
 */
import { z } from 'zod';
import { KeelError, parseInput } from '../core/index.js';
import {
  type CsvOptions,
  detectFormat,
  ident,
  literal,
  loadDuckDB,
  readerSql,
  requireFile,
} from '../data/index.js';
import { loadTable } from '../ml/index.js';
import { COLUMN_ROLES, type ColumnRole, type DriftTable } from './drift.js';

// loadTable's CSV missing markers, so a column's kind is judged on the cells it will read.
const CSV_MISSING = ['', 'NA', '?'];
const NUMERIC_TYPE =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL)/;

/** Each column's kind, from the file's types (Parquet) or its cells (CSV). */
async function columnKinds(path: string, csv?: CsvOptions): Promise<Map<string, 'numeric' | 'text'>> {
  requireFile(path);
  const format = detectFormat(path);
  if (format === 'json') {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `cannot read '${path}' for drift: use a .parquet, .csv or .csv.gz file`,
    );
  }
  const instance = await (await loadDuckDB()).DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await instance.connect();
  const rows = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJS();
  try {
    const source = readerSql(path, format, csv);
    let described: Awaited<ReturnType<typeof rows>>;
    try {
      described = await rows(`DESCRIBE SELECT * FROM ${source}`);
    } catch (cause) {
      throw new KeelError('RESOURCE_DOES_NOT_EXIST', `cannot read '${path}': ${(cause as Error).message}`, {
        cause,
      });
    }
    const kinds = new Map<string, 'numeric' | 'text'>();
    const csvColumns: string[] = [];
    for (const row of described) {
      const name = String(row.column_name);
      const type = String(row.column_type);
      if (NUMERIC_TYPE.test(type)) kinds.set(name, 'numeric');
      else if (format === 'csv' && type === 'VARCHAR') csvColumns.push(name);
      else kinds.set(name, 'text');
    }
    if (csvColumns.length > 0) {
      const missing = CSV_MISSING.map(literal).join(', ');
      const checks = csvColumns.map(
        (c) =>
          `count(*) FILTER (WHERE ${ident(c)} IS NOT NULL AND ${ident(c)} NOT IN (${missing}) AND TRY_CAST(${ident(c)} AS DOUBLE) IS NULL) AS ${ident(c)}`,
      );
      const [bad] = await rows(`SELECT ${checks.join(', ')} FROM ${source}`);
      for (const c of csvColumns) kinds.set(c, Number(bad[c]) === 0 ? 'numeric' : 'text');
    }
    return kinds;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/**
 * Reads `columns` (default: all) of a Parquet or CSV file for drift detection.
 * @throws KeelError INVALID_PARAMETER_VALUE for an unknown column (naming the file's columns) or
 *   an unsupported format; RESOURCE_DOES_NOT_EXIST when the file cannot be read.
 */
export async function readDriftTable(
  path: string,
  columns?: string[],
  csv?: CsvOptions,
): Promise<DriftTable> {
  const kinds = await columnKinds(path, csv);
  const wanted = columns ?? [...kinds.keys()];
  for (const c of wanted) {
    if (!kinds.has(c)) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `column '${c}' is not in '${path}' (columns: ${[...kinds.keys()].join(', ')})`,
      );
    }
  }
  const categorical = wanted.filter((c) => kinds.get(c) === 'text');
  const loaded = await loadTable({ path, features: wanted, categorical, missingValues: CSV_MISSING, csv });
  const table: DriftTable = {};
  loaded.x.names.forEach((name, j) => {
    const values = loaded.x.columns[j];
    const names = loaded.categories[name];
    table[name] = names ? Array.from(values, (code) => (Number.isNaN(code) ? null : names[code])) : values;
  });
  return table;
}

/** The Parquet key-value metadata key a table declares its column roles under (JSON object). */
export const COLUMN_ROLES_KEY = 'keel.column_roles';

/**
 * The column roles a Parquet file declares in its key-value metadata (`keel.column_roles`, e.g.
 * `{"customer_id": "id", "split": "ignored", "churned": "target"}`); none for a CSV.
 * @throws KeelError INVALID_PARAMETER_VALUE for roles that are not a JSON object of known roles.
 */
export async function readColumnRoles(path: string): Promise<Record<string, ColumnRole>> {
  requireFile(path);
  if (detectFormat(path) !== 'parquet') return {};
  const instance = await (await loadDuckDB()).DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await instance.connect();
  try {
    const rows = (
      await conn.runAndReadAll(
        `SELECT decode(value) AS v FROM parquet_kv_metadata(${literal(path)}) WHERE decode(key) = ${literal(COLUMN_ROLES_KEY)}`,
      )
    ).getRowObjectsJS();
    if (rows.length === 0) return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(String(rows[0].v));
    } catch (cause) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `'${path}' has ${COLUMN_ROLES_KEY} metadata that is not JSON`,
        {
          cause,
        },
      );
    }
    return parseInput(z.record(z.string(), z.enum(COLUMN_ROLES)), parsed, `${COLUMN_ROLES_KEY} of '${path}'`);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** The COPY option that declares `roles` in a Parquet file DuckDB writes: `KV_METADATA {...}`. */
export const columnRolesCopyOption = (roles: Record<string, ColumnRole>): string =>
  `KV_METADATA {${literal(COLUMN_ROLES_KEY)}: ${literal(JSON.stringify(roles))}}`;
