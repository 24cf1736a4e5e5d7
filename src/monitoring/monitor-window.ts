/**
 * @module monitoring/monitor-window
 * One window of the prediction log, read for a monitor run: per version, the scores, the labels
 * joined from `/feedback` (NaN where none), the canary share and the asked-for input columns, as
 * typed arrays (numbers) or string arrays (text). Which input columns the window's files have,
 * and their types, come back too: that is what schema drift compares with the profile.
 */
import type { DuckDBConnection, DuckDBVector } from '@duckdb/node-api';
import { isKeelError } from '../core/index.js';
import { ident, literal, queryRows, withDuckDB } from '../data/index.js';
import { inputColumn, PREDICTION_COLUMNS } from './prediction-files.js';
import { predictionsSql } from './prediction-reader.js';

export type WindowColumn = Float64Array | Array<string | null>;

export interface VersionWindow {
  version: string;
  rows: number;
  canaryRows: number;
  scores: Float64Array;
  /** NaN where no label was posted. */
  labels: Float64Array;
  /** The asked-for inputs the files have, by input name. */
  features: Map<string, WindowColumn>;
}

export interface PredictionWindow {
  /** Input columns of the window's files with their kind, by input name. */
  columns: Map<string, 'numeric' | 'text'>;
  versions: VersionWindow[];
}

const NUMERIC =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|REAL|DECIMAL.*|BOOLEAN)$/;
const FIXED = new Set<string>([...PREDICTION_COLUMNS, 'label']);

/**
 * Copies a DOUBLE vector without NULLs into `out` at `offset`. `@duckdb/node-api` keeps the vector's
 * values in a Float64Array it does not declare; a copy of it is memcpy speed, where `getItem` per
 * value costs a validity check each. Any other layout falls back to `getItem`.
 */
function copyDoubles(vector: DuckDBVector, n: number, out: Float64Array, offset: number): void {
  const items = (vector as unknown as { items?: unknown }).items;
  if (items instanceof Float64Array && items.length === n) {
    out.set(items, offset);
    return;
  }
  for (let i = 0; i < n; i++) out[offset + i] = (vector.getItem(i) as number | null) ?? Number.NaN;
}

async function readVersion(
  conn: DuckDBConnection,
  sql: string,
  version: string,
  rows: number,
  canaryRows: number,
  inputs: Array<[string, 'numeric' | 'text']>,
): Promise<VersionWindow> {
  const nan = "'NaN'::DOUBLE";
  const select = [
    `coalesce(CAST(score AS DOUBLE), ${nan})`,
    `coalesce(CAST(label AS DOUBLE), ${nan})`,
    ...inputs.map(([name, kind]) =>
      kind === 'numeric'
        ? `coalesce(CAST(${ident(inputColumn(name))} AS DOUBLE), ${nan})`
        : `CAST(${ident(inputColumn(name))} AS VARCHAR)`,
    ),
  ];
  const scores = new Float64Array(rows);
  const labels = new Float64Array(rows);
  const columns: WindowColumn[] = inputs.map(([, kind]) =>
    kind === 'numeric' ? new Float64Array(rows) : new Array<string | null>(rows),
  );
  const result = await conn.stream(
    `SELECT ${select.join(', ')} FROM (${sql}) WHERE version = ${literal(version)}`,
  );
  let offset = 0;
  for (
    let chunk = await result.fetchChunk();
    chunk && chunk.rowCount > 0;
    chunk = await result.fetchChunk()
  ) {
    const n = Math.min(chunk.rowCount, rows - offset);
    copyDoubles(chunk.getColumnVector(0), n, scores, offset);
    copyDoubles(chunk.getColumnVector(1), n, labels, offset);
    columns.forEach((out, j) => {
      const vector = chunk.getColumnVector(2 + j);
      if (out instanceof Float64Array) copyDoubles(vector, n, out, offset);
      else for (let i = 0; i < n; i++) out[offset + i] = vector.getItem(i) as string | null;
    });
    offset += n;
  }
  return {
    version,
    rows: offset,
    canaryRows,
    scores: scores.subarray(0, offset),
    labels: labels.subarray(0, offset),
    features: new Map(
      inputs.map(([name], j) => {
        const c = columns[j];
        return [name, c instanceof Float64Array ? c.subarray(0, offset) : c.slice(0, offset)];
      }),
    ),
  };
}

/**
 * The rows of `model` logged in [from, to) with their labels, per version; `inputs` names the
 * input columns to read (those the files lack are left out, and `columns` says which exist). One
 * DuckDB connection serves the whole read.
 * A model that never logged anything gives an empty window, as a window without rows does.
 */
export async function readWindow(query: {
  home: string;
  model: string;
  from: number;
  to: number;
  /** The inputs to read, or a function of the versions found that says (called once). */
  inputs: readonly string[] | ((versions: string[]) => Promise<readonly string[]>);
}): Promise<PredictionWindow> {
  let sql: string;
  try {
    sql = predictionsSql({
      home: query.home,
      model: query.model,
      from: query.from,
      to: query.to,
      labels: true,
    });
  } catch (err) {
    if (isKeelError(err, 'RESOURCE_DOES_NOT_EXIST')) return { columns: new Map(), versions: [] };
    throw err;
  }
  return withDuckDB(async (conn) => {
    const described = await queryRows(conn, `DESCRIBE ${sql}`);
    const columns = new Map<string, 'numeric' | 'text'>();
    for (const r of described) {
      const stored = String(r.column_name);
      if (FIXED.has(stored)) continue;
      const name = stored.startsWith('input_') && FIXED.has(stored.slice(6)) ? stored.slice(6) : stored;
      columns.set(name, NUMERIC.test(String(r.column_type)) ? 'numeric' : 'text');
    }
    const counts = await queryRows(
      conn,
      `SELECT version, count(*) AS n, count(*) FILTER (WHERE canary) AS canary FROM (${sql})
       GROUP BY version ORDER BY TRY_CAST(version AS BIGINT) NULLS LAST, version`,
    );
    const asked =
      typeof query.inputs === 'function'
        ? await query.inputs(counts.map((c) => String(c.version)))
        : query.inputs;
    const inputs = asked
      .filter((name) => columns.has(name))
      .map((name): [string, 'numeric' | 'text'] => [name, columns.get(name) as 'numeric' | 'text']);
    const versions: VersionWindow[] = [];
    for (const c of counts)
      versions.push(await readVersion(conn, sql, String(c.version), Number(c.n), Number(c.canary), inputs));
    return { columns, versions };
  });
}
