/**
 * @module monitoring/monitor-window
 * One window of the prediction log, read for a monitor run in one pass per version (plus one
 * join for the labelled rows), counting as the rows stream by:
 * - per numeric feature: missing values, values outside the reference's [min, max], and the
 *   counts in the seed's PSI bins (`binOf`'s rule); per category feature, the count of each value;
 * - a uniform sample of at most `sampleRows` rows of the features (algorithm R, seeded) for the
 *   tests that need values (Evidently's per column);
 * - every score, for the KS test of prediction drift, and the (score, label) pairs of the rows
 *   whose label arrived through `/feedback`.
 * Counting in JavaScript over DuckDB's own vectors measured faster here than DuckDB's FILTER and
 * histogram aggregates over the same Parquet (bench/monitoring/monitor.ts).
 * Which input columns the window's files have, and their types, come back too: that is what
 * schema drift compares with the profile.
 */
import type { DuckDBConnection, DuckDBVector } from '@duckdb/node-api';
import { isKeelError } from '../core/index.js';
import { ident, literal, prefetchedChunks, queryRows, withDuckDB } from '../data/index.js';
import { Rng } from '../ml/index.js';
import { inputColumn, inputName, PREDICTION_COLUMNS } from './prediction-files.js';
import { predictionsSql } from './prediction-reader.js';

/** How a version's features are read: numeric ones against the reference's bins and range. */
export interface WindowPlan {
  numeric: Array<{ name: string; breakpoints: readonly number[]; min: number | null; max: number | null }>;
  categorical: string[];
}

export interface NumericFigures {
  kind: 'numeric';
  missing: number;
  outOfRange: number;
  /** Counts in the bins the breakpoints cut (breakpoints + 1 of them). */
  bins: number[];
  /** The sampled rows' values, NaN for missing. */
  sample: Float64Array;
}

export interface CategoryFigures {
  kind: 'text';
  missing: number;
  /** Count per value (as logged: text, or a category code's number as text). */
  counts: Map<string, number>;
  sample: Array<string | null>;
}

export interface VersionWindow {
  version: string;
  rows: number;
  canaryRows: number;
  /** Every score, NaN where the model gave none. */
  scores: Float64Array;
  /** Scores and labels of the rows whose label arrived. */
  labelled: { scores: Float64Array; labels: Float64Array };
  /** The planned features the files have, by input name. */
  features: Map<string, NumericFigures | CategoryFigures>;
  /** Rows in the sample. */
  sampleRows: number;
}

export interface PredictionWindow {
  /** Input columns of the window's files with their kind, by input name. */
  columns: Map<string, 'numeric' | 'text'>;
  versions: VersionWindow[];
}

const NUMERIC =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|REAL|DECIMAL.*|BOOLEAN)$/;
const FIXED = new Set<string>([...PREDICTION_COLUMNS, 'label']);
/** The seed of the window's sample, so the same window gives the same verdicts. */
const SAMPLE_SEED = 7;

/**
 * Copies a DOUBLE vector without NULLs into `out` at `offset`. `@duckdb/node-api` keeps the
 * vector's values in a Float64Array it does not declare; copying it is memcpy speed, where
 * `getItem` per value checks validity each time. Any other layout falls back to `getItem`.
 */
function copyDoubles(vector: DuckDBVector, n: number, out: Float64Array, offset: number): void {
  const items = (vector as unknown as { items?: unknown }).items;
  if (items instanceof Float64Array && items.length === n) {
    out.set(items, offset);
    return;
  }
  for (let i = 0; i < n; i++) out[offset + i] = (vector.getItem(i) as number | null) ?? Number.NaN;
}

/** Streams a query of DOUBLE columns (no NULLs) into typed arrays, grown as rows arrive. */
async function readDoubles(conn: DuckDBConnection, sql: string, width: number) {
  let out = Array.from({ length: width }, () => new Float64Array(4096));
  let offset = 0;
  for await (const chunk of prefetchedChunks(await conn.stream(sql))) {
    const n = chunk.rowCount;
    if (offset + n > out[0].length) {
      const grown = Math.max(2 * out[0].length, offset + n);
      out = out.map((c) => {
        const bigger = new Float64Array(grown);
        bigger.set(c.subarray(0, offset));
        return bigger;
      });
    }
    for (let j = 0; j < width; j++) copyDoubles(chunk.getColumnVector(j), n, out[j], offset);
    offset += n;
  }
  return out.map((c) => c.subarray(0, offset));
}

/** A vector's DOUBLE values as an array: the vector's own buffer when it exposes one, else a copy. */
function doublesOf(vector: DuckDBVector, n: number, scratch: Float64Array): Float64Array {
  const items = (vector as unknown as { items?: unknown }).items;
  if (items instanceof Float64Array && items.length === n) return items;
  copyDoubles(vector, n, scratch, 0);
  return scratch.subarray(0, n);
}

/** Cells of the lookup table between the first and the last breakpoint. */
const CELLS = 4096;

/**
 * A lookup table for `binOf`: [b0, b8] cut in equal cells, each holding the bin all its values
 * share, or -1 when a breakpoint lies in (or within a millionth of a cell of) it. A value's bin is
 * then one table read, and only values in the few cells around a breakpoint are compared; the
 * binary search per value cost five times as much here (its branches cannot be predicted).
 */
export interface BinTable {
  breakpoints: Float64Array;
  lo: number;
  hi: number;
  scale: number;
  cells: Int8Array;
}

export function binTable(breakpoints: readonly number[]): BinTable {
  const b = Float64Array.from(breakpoints);
  const lo = b.length ? b[0] : 0;
  const hi = b.length ? b[b.length - 1] : 0;
  const scale = hi > lo ? CELLS / (hi - lo) : 0;
  const cells = new Int8Array(CELLS + 1).fill(-1);
  if (scale > 0) {
    const width = 1 / scale;
    for (let c = 0; c <= CELLS; c++) {
      const from = lo + c * width - width * 1e-6;
      const to = lo + (c + 1) * width + width * 1e-6;
      let below = 0;
      let inside = false;
      for (const x of b) {
        if (x < from) below++;
        else if (x <= to) inside = true;
      }
      if (!inside) cells[c] = below;
    }
  }
  return { breakpoints: b, lo, hi, scale, cells };
}

/** The bin of `x` (not NaN) through the table: `binOf(breakpoints, x)`, mostly without comparing. */
export function lookupBin(table: BinTable, x: number): number {
  if (x <= table.lo) return 0;
  const { breakpoints } = table;
  if (x > table.hi) return breakpoints.length;
  let bin = table.cells[((x - table.lo) * table.scale) | 0];
  if (bin < 0) {
    bin = 0;
    for (let j = 0; j < breakpoints.length; j++) if (breakpoints[j] < x) bin++;
  }
  return bin;
}

/**
 * The hot loop of a monitor run, alone in its function (V8 optimises it whole): counts one chunk
 * of a numeric feature into its PSI bins, and its missing values and values outside [min, max]
 * into `acc[0]` and `acc[1]`. A value's bin is how many breakpoints lie below it (`binOf`).
 */
function countChunk(
  values: Float64Array,
  table: BinTable,
  min: number,
  max: number,
  bins: Float64Array,
  acc: Float64Array,
): void {
  let missing = 0;
  let out = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (Number.isNaN(x)) {
      missing++;
      continue;
    }
    if (x < min || x > max) out++;
    bins[lookupBin(table, x)]++;
  }
  acc[0] += missing;
  acc[1] += out;
}

/**
 * Algorithm R over rows `offset` .. `offset + n`: the sample slot each row takes (-1 for none).
 * Hot loops live alone in small functions: inside the big async reader they deoptimised.
 */
function assignSlots(rng: Rng, offset: number, n: number, k: number, slots: Int32Array): void {
  for (let i = 0; i < n; i++) {
    const row = offset + i;
    if (row < k) slots[i] = row;
    else {
      const j = rng.int(row + 1);
      slots[i] = j < k ? j : -1;
    }
  }
}

function takeSample(values: Float64Array, slots: Int32Array, n: number, sample: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const slot = slots[i];
    if (slot >= 0) sample[slot] = values[i];
  }
}

const asDouble = (column: string) => `coalesce(CAST(${column} AS DOUBLE), 'NaN'::DOUBLE)`;

/**
 * One pass over a version's rows: every score kept; per numeric feature the bin, missing and
 * out-of-range counts; per category feature the count of each value; and a row-consistent
 * reservoir sample (algorithm R, seeded) of at most `sampleRows` rows. Memory holds the scores
 * and the sample, never the window's feature columns.
 */
async function readVersion(
  conn: DuckDBConnection,
  sql: { plain: string; labelled: string },
  version: { name: string; rows: number; canary: number },
  plan: WindowPlan,
  columns: Map<string, 'numeric' | 'text'>,
  sampleRows: number,
): Promise<VersionWindow> {
  const where = `version = ${literal(version.name)}`;
  const numeric = plan.numeric.filter((f) => columns.get(f.name) === 'numeric');
  const categorical = plan.categorical.filter((name) => columns.has(name));
  const k = Math.min(sampleRows, version.rows);
  const counted = numeric.map((f) => ({
    table: binTable(f.breakpoints),
    min: f.min ?? Number.NEGATIVE_INFINITY,
    max: f.max ?? Number.POSITIVE_INFINITY,
    bins: new Float64Array(f.breakpoints.length + 1),
    acc: new Float64Array(2),
    sample: new Float64Array(k),
  }));
  const texts = categorical.map(() => ({
    missing: 0,
    counts: new Map<string, number>(),
    sample: new Array<string | null>(k).fill(null),
  }));
  const scores = new Float64Array(version.rows);
  const select = [
    asDouble('score'),
    ...numeric.map((f) => asDouble(ident(inputColumn(f.name)))),
    ...categorical.map((name) => `CAST(${ident(inputColumn(name))} AS VARCHAR)`),
  ];
  const result = await conn.stream(`SELECT ${select.join(', ')} FROM (${sql.plain}) WHERE ${where}`);
  const rng = new Rng(SAMPLE_SEED);
  // Where each row of a chunk goes in the sample (-1: not sampled).
  let slots = new Int32Array(2048);
  const scratch = new Float64Array(2048);
  let offset = 0;
  for await (const chunk of prefetchedChunks(result)) {
    const n = Math.min(chunk.rowCount, version.rows - offset);
    if (slots.length < n) slots = new Int32Array(n);
    assignSlots(rng, offset, n, k, slots);
    copyDoubles(chunk.getColumnVector(0), n, scores, offset);
    counted.forEach((c, j) => {
      const values = doublesOf(chunk.getColumnVector(1 + j), n, scratch);
      countChunk(values, c.table, c.min, c.max, c.bins, c.acc);
      takeSample(values, slots, n, c.sample);
    });
    texts.forEach((t, j) => {
      const vector = chunk.getColumnVector(1 + counted.length + j);
      for (let i = 0; i < n; i++) {
        const v = vector.getItem(i) as string | null;
        if (v === null) t.missing++;
        else t.counts.set(v, (t.counts.get(v) ?? 0) + 1);
        if (slots[i] >= 0) t.sample[slots[i]] = v;
      }
    });
    offset += n;
  }
  const features = new Map<string, NumericFigures | CategoryFigures>();
  numeric.forEach((f, j) => {
    const c = counted[j];
    features.set(f.name, {
      kind: 'numeric',
      missing: c.acc[0],
      outOfRange: f.min === null || f.max === null ? 0 : c.acc[1],
      bins: Array.from(c.bins),
      sample: c.sample,
    });
  });
  categorical.forEach((name, j) => {
    features.set(name, { kind: 'text', ...texts[j] });
  });

  // Only the labelled rows cross the join with the feedback files.
  const [ls, ll] = await readDoubles(
    conn,
    `SELECT CAST(score AS DOUBLE), CAST(label AS DOUBLE) FROM (${sql.labelled})
     WHERE ${where} AND label IS NOT NULL AND score IS NOT NULL`,
    2,
  );
  return {
    version: version.name,
    rows: offset,
    canaryRows: version.canary,
    scores: scores.subarray(0, offset),
    labelled: { scores: ls, labels: ll },
    features,
    sampleRows: k,
  };
}

/**
 * The figures of `model`'s rows logged in [from, to), per version. `plan` is called once with
 * the versions found and says which features to read and against which bins; features the files
 * lack are left out (`columns` says which exist). A model that never logged anything gives an
 * empty window, as a window without rows does. One DuckDB connection serves the whole read.
 */
export async function readWindow(query: {
  home: string;
  model: string;
  from: number;
  to: number;
  plan: (versions: string[]) => Promise<Map<string, WindowPlan>>;
  /** Most rows sampled per version for the value-based tests. */
  sampleRows: number;
}): Promise<PredictionWindow> {
  let sql: { plain: string; labelled: string };
  try {
    const where = { home: query.home, model: query.model, from: query.from, to: query.to };
    sql = { plain: predictionsSql(where), labelled: predictionsSql({ ...where, labels: true }) };
  } catch (err) {
    if (isKeelError(err, 'RESOURCE_DOES_NOT_EXIST')) return { columns: new Map(), versions: [] };
    throw err;
  }
  return withDuckDB(async (conn) => {
    const described = await queryRows(conn, `DESCRIBE ${sql.plain}`);
    const columns = new Map<string, 'numeric' | 'text'>();
    for (const r of described) {
      const stored = String(r.column_name);
      if (FIXED.has(stored)) continue;
      columns.set(inputName(stored), NUMERIC.test(String(r.column_type)) ? 'numeric' : 'text');
    }
    const counts = await queryRows(
      conn,
      `SELECT version, count(*) AS n, count(*) FILTER (WHERE canary) AS canary FROM (${sql.plain})
       GROUP BY version ORDER BY TRY_CAST(version AS BIGINT) NULLS LAST, version`,
    );
    const plans = await query.plan(counts.map((c) => String(c.version)));
    const versions: VersionWindow[] = [];
    for (const c of counts) {
      const name = String(c.version);
      versions.push(
        await readVersion(
          conn,
          sql,
          { name, rows: Number(c.n), canary: Number(c.canary) },
          plans.get(name) ?? { numeric: [], categorical: [] },
          columns,
          query.sampleRows,
        ),
      );
    }
    return { columns, versions };
  });
}
