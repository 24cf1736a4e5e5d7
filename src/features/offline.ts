/**
 * @module features/offline
 * Point-in-time retrieval: for each entity row (keys + event timestamp), the latest feature row
 * with `event_ts - ttl <= feature_ts <= event_ts` (Feast's bounds, both included), ties broken by
 * `tieBreak` (SQL in pit-sql.ts), the rule materialization uses too. Nothing from the future can reach a training
 * row; with `asOfCreated`, neither can a row written after the event.
 */
import { existsSync } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import { invalid } from '../core/index.js';
import { ident } from '../data/index.js';
import type { FeatureValue } from './definitions.js';
import {
  type ColumnType,
  fileRelation,
  type PathContext,
  runSql,
  tableFromRows,
  toJs,
  writeParquet,
} from './duck.js';
import { applyOnDemand } from './on-demand.js';
import { ENTITY, joinSql } from './pit-sql.js';
import { joinKeysOf, type ResolvedRefs } from './refs.js';

/** Entity rows as JS objects, or a CSV/Parquet file of them. */
export type EntityRowsInput = readonly Record<string, unknown>[] | { path: string };

export interface HistoricalOptions {
  /** The entity rows' timestamp column (default `event_timestamp`). */
  eventTimestampColumn?: string;
  /** Write the result to this Parquet file (atomically) instead of returning rows. */
  out?: string;
  /**
   * Also require `created_ts <= event_ts`: only rows already written at the event count, so a
   * late-arriving row or correction never reaches an earlier training row. Slower (a range join
   * instead of ASOF); views without a created timestamp are unaffected.
   */
  asOfCreated?: boolean;
}

export interface HistoricalResult {
  /** Output columns: the entity rows' columns, then the features in request order. */
  columns: string[];
  /** The feature columns alone (the last of `columns`), in request order. */
  features: string[];
  /** Every feature view read, as `view@version` (on-demand views and their inputs included). */
  featureViews: string[];
  /** The rows, in the entity rows' order (empty when written to `out`). */
  rows: Record<string, FeatureValue>[];
  rowCount: number;
}

async function loadEntities(
  conn: DuckDBConnection,
  input: EntityRowsInput,
  keyTypes: Record<string, ColumnType>,
  eventColumn: string,
  ctx: PathContext,
): Promise<string[]> {
  if ('path' in input) {
    if (!existsSync(input.path)) throw invalid(`entity rows file ${input.path} does not exist`);
    const format = /\.parquet$/i.test(input.path) ? 'parquet' : 'csv';
    await runSql(
      conn,
      `CREATE OR REPLACE TEMP TABLE ${ENTITY} AS SELECT * FROM ${fileRelation({ path: input.path, format }, ctx)}`,
      `reading entity rows ${input.path}`,
    );
  } else {
    if (input.length === 0) throw invalid('no entity rows given');
    await tableFromRows(conn, ENTITY, input, { ...keyTypes, [eventColumn]: 'timestamp' });
  }
  const described = await runSql(conn, `DESCRIBE ${ENTITY}`, 'describing entity rows');
  const columns = described.getRowObjectsJS().map((r) => String(r.column_name));
  for (const needed of [...Object.keys(keyTypes), eventColumn]) {
    if (!columns.includes(needed)) {
      throw invalid(`entity rows lack column '${needed}' (they have: ${columns.join(', ') || 'none'})`);
    }
  }
  return columns;
}

/** Renames internal `view__feature` columns to the requested output names. */
function outputSelect(refs: ResolvedRefs, entityColumns: string[]): string {
  const stored = refs.features.filter((f) => !f.onDemand);
  return [
    ...entityColumns.map((c) => ident(c)),
    ...stored.map((f) => `${ident(`${f.view}__${f.feature}`)} AS ${ident(f.output)}`),
  ].join(', ');
}

/**
 * Joins features onto entity rows, point in time correct. Returns rows, or writes Parquet to
 * `options.out` (through a temporary file renamed into place).
 * @throws KeelError INVALID_PARAMETER_VALUE for missing entity columns, bad timestamps or a source
 * DuckDB cannot read.
 */
export async function getHistoricalFeatures(
  conn: DuckDBConnection,
  ctx: PathContext,
  entityRows: EntityRowsInput,
  refs: ResolvedRefs,
  options: HistoricalOptions = {},
): Promise<HistoricalResult> {
  const eventColumn = options.eventTimestampColumn ?? 'event_timestamp';
  const keyTypes: Record<string, ColumnType> = {};
  for (const { view } of refs.views.values())
    for (const e of view.entities) keyTypes[e.joinKey] = e.valueType;
  for (const key of joinKeysOf(refs.views.values())) keyTypes[key] ??= 'string';
  const entityColumns = await loadEntities(conn, entityRows, keyTypes, eventColumn, ctx);
  const joined = joinSql(refs, entityColumns, eventColumn, ctx, options.asOfCreated ?? false);
  const features = refs.features.map((f) => f.output);
  const columns = [...entityColumns, ...features];
  const shape = { columns, features, featureViews: refs.lineage };
  try {
    if (refs.onDemand.length === 0) {
      const query = `SELECT ${outputSelect(refs, entityColumns)} FROM (${joined})`;
      if (options.out) return { ...shape, rows: [], rowCount: await writeParquet(conn, query, options.out) };
      const reader = await runSql(conn, query, 'point-in-time join');
      const rows = reader.getRowObjects().map((r) => mapValues(r));
      return { ...shape, rows, rowCount: rows.length };
    }
    const reader = await runSql(conn, joined, 'point-in-time join');
    const internal = reader.getRowObjects().map((r) => mapValues(r));
    const rows = internal.map((row) => projectRow(row, refs, entityColumns));
    if (!options.out) return { ...shape, rows, rowCount: rows.length };
    // The JS rows go back to DuckDB typed as the join gave them, not as JS values look.
    const types: Record<string, ColumnType> = { ...keyTypes, [eventColumn]: 'timestamp' };
    for (const f of refs.features) types[f.output] = f.type;
    await tableFromRows(conn, '__keel_out', rows, types, columns);
    return {
      ...shape,
      rows: [],
      rowCount: await writeParquet(conn, 'SELECT * FROM __keel_out', options.out),
    };
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${ENTITY}`);
  }
}

function mapValues(row: Record<string, unknown>): Record<string, FeatureValue> {
  const out: Record<string, FeatureValue> = {};
  for (const [k, v] of Object.entries(row)) out[k] = toJs(v);
  return out;
}

/** Builds one output row from the internal columns, running on-demand transforms. */
function projectRow(
  row: Record<string, FeatureValue>,
  refs: ResolvedRefs,
  entityColumns: string[],
): Record<string, FeatureValue> {
  const out: Record<string, FeatureValue> = {};
  for (const c of entityColumns) out[c] = row[c];
  const inputs = (view: string, feature: string) => row[`${view}__${feature}`] ?? null;
  const computed = applyOnDemand(refs.onDemand, row, inputs);
  for (const f of refs.features) {
    out[f.output] = f.onDemand ? (computed.get(f.view)?.[f.feature] ?? null) : inputs(f.view, f.feature);
  }
  return out;
}
