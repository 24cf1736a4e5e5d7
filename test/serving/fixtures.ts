/**
 * Batch scoring fixtures: a Keel-trained GBDT over two numeric columns and a categorical one,
 * registered like any version, and rows to score with it written as Parquet or CSV. Values are
 * float32 numbers, so the TypeScript model and ONNX Runtime see the same inputs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { isKeelError } from '../../src/core/index.js';
import { defineEntity, defineFeatureView, fileSource } from '../../src/features/index.js';
import {
  exportOnnx,
  type FeatureMatrix,
  type GbdtModel,
  META_CATEGORIES,
  Rng,
  trainGbdt,
} from '../../src/ml/index.js';
import type { Registry } from '../../src/registry/index.js';

export const COLOURS = ['blue', 'green', 'red'];
/** The model's columns, in an order the files do not share. */
export const MODEL_COLUMNS = ['a', 'colour', 'b'];

/** What a colour adds to the label's log-odds; a missing or unknown one ('') the most. */
const EFFECT: Record<string, number> = { blue: -0.5, green: 0, red: 1.5, '': 2.5 };

export interface Rows {
  id: number[];
  a: Float64Array;
  b: Float64Array;
  /** Mostly known colours; some missing (null) and some the model never saw ('purple'). */
  colour: Array<string | null>;
  y: Float64Array;
}

export function scoringRows(n: number, seed: number): Rows {
  const rng = new Rng(seed);
  const rows: Rows = {
    id: [],
    a: new Float64Array(n),
    b: new Float64Array(n),
    colour: [],
    y: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    rows.id.push(1000 + i);
    rows.a[i] = i % 30 === 7 ? Number.NaN : Math.fround(rng.next() * 4 - 2);
    rows.b[i] = Math.fround(rng.next() * 10);
    rows.colour.push(i % 40 === 3 ? null : i % 50 === 5 ? 'purple' : COLOURS[rng.int(3)]);
    const a = Number.isNaN(rows.a[i]) ? 0 : rows.a[i];
    const colour = EFFECT[rows.colour[i] ?? ''] ?? EFFECT[''];
    rows.y[i] = a + colour + 0.2 * rows.b[i] - 1 + rng.next() - 0.5 > 0 ? 1 : 0;
  }
  return rows;
}

/** The rows as the model takes them: colours as their index in COLOURS, unknown ones missing. */
export function featureMatrix(rows: Rows): FeatureMatrix {
  const code = Float64Array.from(rows.colour, (c) => {
    const i = c === null ? -1 : COLOURS.indexOf(c);
    return i < 0 ? Number.NaN : i;
  });
  return { names: MODEL_COLUMNS, columns: [rows.a, code, rows.b] };
}

export function trainModel(): GbdtModel {
  const rows = scoringRows(3000, 1);
  return trainGbdt(
    featureMatrix(rows),
    rows.y,
    { iterations: 30, maxLeaves: 8 },
    { categorical: ['colour'] },
  );
}

/** Registers `model` as a new version of `name` (created when missing) with optional feature refs. */
export async function registerModel(
  registry: Registry,
  model: GbdtModel,
  dir: string,
  name = 'churn',
  features?: string[],
): Promise<void> {
  const file = join(dir, `${name}-${Date.now()}.onnx`);
  writeFileSync(
    file,
    exportOnnx(model, { metadata: { [META_CATEGORIES]: JSON.stringify({ colour: COLOURS }) } }),
  );
  await registry.models
    .create(name)
    .catch((err) => (isKeelError(err, 'RESOURCE_ALREADY_EXISTS') ? undefined : Promise.reject(err)));
  await registry.versions.create({ name, source: file, features });
}

const cell = (v: number | string | null) => (v === null || Number.isNaN(v) ? '' : String(v));

/** The rows as CSV text (`id,b,colour,a,note`); gzipped when `path` ends in `.gz`. */
export function writeCsv(path: string, rows: Rows): string {
  const lines = rows.id.map((id, i) =>
    [id, cell(rows.b[i]), cell(rows.colour[i]), cell(rows.a[i]), `n${i}`].join(','),
  );
  const text = `id,b,colour,a,note\n${lines.join('\n')}\n`;
  writeFileSync(path, path.endsWith('.gz') ? gzipSync(text) : text);
  return path;
}

/** The rows as Parquet with typed columns (BIGINT id, DOUBLE a and b), without `omit`. */
export async function writeParquet(path: string, rows: Rows, omit?: string): Promise<string> {
  const csv = writeCsv(`${path}.csv`, rows);
  const columns = [
    'CAST(id AS BIGINT) AS id',
    'CAST(b AS DOUBLE) AS b',
    'colour',
    'CAST(a AS DOUBLE) AS a',
    'note',
  ];
  await query(
    `COPY (SELECT ${columns.filter((c) => !c.endsWith(` ${omit}`) && c !== omit).join(', ')} FROM read_csv('${csv}', all_varchar = true)) TO '${path}' (FORMAT parquet)`,
  );
  return path;
}

/** The feature references of a model served from the `customer_stats` view. */
export const CUSTOMER_FEATURES = ['customer_stats:a', 'customer_stats:colour', 'customer_stats:b'];

/**
 * A feature view `customer_stats` over two snapshots of 10 customers (the second written a day
 * after the first) in `dir/customers.csv`, and `dir/entities.csv` with three entity rows to score:
 * customer 3 before and after its update (`r1`, `r2`), customer 7 after (`r3`). `expected` are the
 * rows each should be scored from: `featureMatrix(expected)` gives the model's inputs.
 */
export function customerSnapshots(dir: string): { definitions: unknown[]; entities: string; expected: Rows } {
  const day = 86_400_000;
  const t0 = Date.UTC(2024, 0, 1);
  const at = (ms: number) => new Date(ms).toISOString();
  const history = scoringRows(20, 5);
  const line = (i: number) =>
    [
      i % 10,
      at(i < 10 ? t0 : t0 + day),
      cell(history.a[i]),
      cell(history.b[i]),
      cell(history.colour[i]),
    ].join(',');
  const source = join(dir, 'customers.csv');
  writeFileSync(source, `customer_id,ts,a,b,colour\n${history.id.map((_, i) => line(i)).join('\n')}\n`);
  const entities = join(dir, 'entities.csv');
  writeFileSync(
    entities,
    `request,customer_id,event_timestamp\nr1,3,${at(t0 + day / 2)}\nr2,3,${at(t0 + 2 * day)}\nr3,7,${at(t0 + 2 * day)}\n`,
  );
  const customer = defineEntity({ name: 'customer', joinKey: 'customer_id' });
  const view = defineFeatureView({
    name: 'customer_stats',
    entities: [customer],
    schema: { a: 'float64', b: 'float64', colour: 'string' },
    source: fileSource({ path: source, timestampField: 'ts' }),
  });
  const pick = [3, 13, 17];
  const expected: Rows = {
    id: pick,
    a: Float64Array.from(pick, (i) => history.a[i]),
    b: Float64Array.from(pick, (i) => history.b[i]),
    colour: pick.map((i) => history.colour[i]),
    y: new Float64Array(pick.length),
  };
  return { definitions: [customer, view], entities, expected };
}

/** Runs one query in a fresh DuckDB: its column names, types and rows. */
export async function query(
  sql: string,
): Promise<{ columns: string[]; types: string[]; rows: Record<string, unknown>[] }> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const reader = await conn.runAndReadAll(sql);
    return {
      columns: reader.columnNames(),
      types: reader.columnTypes().map(String),
      rows: reader.getRowObjectsJS(),
    };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** Every row of a Parquet file, with the column names and types. */
export const readParquet = (path: string) => query(`SELECT * FROM read_parquet('${path}')`);
