/**
 * @module features/offline
 * Point-in-time retrieval: for each entity row (keys + event timestamp), the latest feature row
 * with `feature_ts <= event_ts` and `feature_ts > event_ts - ttl`, ties on `feature_ts` broken by
 * the latest created timestamp. One DuckDB `ASOF LEFT JOIN` per view, so nothing from the future
 * can reach a training row.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { invalid, shortId } from '../core/index.js';
import type { FeatureValue, FeatureView } from './definitions.js';
import {
  type ColumnType,
  fileRelation,
  ident,
  literal,
  type PathContext,
  runSql,
  SQL_TYPES,
  sourceRelation,
  tableFromRows,
  toJs,
} from './duck.js';
import { applyOnDemand } from './on-demand.js';
import { joinKeysOf, type ResolvedRefs } from './refs.js';

/** Entity rows as JS objects, or a CSV/Parquet file of them. */
export type EntityRowsInput = readonly Record<string, unknown>[] | { path: string };

export interface HistoricalOptions {
  /** The entity rows' timestamp column (default `event_timestamp`). */
  eventTimestampColumn?: string;
  /** Write the result to this Parquet file (atomically) instead of returning rows. */
  out?: string;
}

export interface HistoricalResult {
  /** Output columns: the entity rows' columns, then the features in request order. */
  columns: string[];
  /** The rows, in the entity rows' order (empty when written to `out`). */
  rows: Record<string, FeatureValue>[];
  rowCount: number;
}

const ENTITY = '__keel_entity';

/** The feature rows of one view, one per (keys, timestamp): the latest created wins ties. */
export function viewRowsSql(view: FeatureView, features: readonly string[], ctx: PathContext): string {
  const { timestampField: ts, createdTimestampField: created } = view.source;
  const keys = view.entities.map(
    (e) => `CAST(${ident(e.joinKey)} AS ${SQL_TYPES[e.valueType]}) AS ${ident(e.joinKey)}`,
  );
  const cols = features.map((f) => `CAST(${ident(f)} AS ${SQL_TYPES[view.schema[f]]}) AS ${ident(f)}`);
  const createdCol = created ? `CAST(${ident(created)} AS TIMESTAMP)` : 'NULL::TIMESTAMP';
  const dedupe = created
    ? `QUALIFY row_number() OVER (PARTITION BY ${view.entities.map((e) => ident(e.joinKey)).join(', ')}, __ts ORDER BY __created DESC NULLS LAST) = 1`
    : '';
  return `SELECT ${[...keys, `CAST(${ident(ts)} AS TIMESTAMP) AS __ts`, `${createdCol} AS __created`, ...cols].join(', ')}
    FROM ${sourceRelation(view.source, ctx)} WHERE ${ident(ts)} IS NOT NULL ${dedupe}`;
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

/** The SELECT that joins every requested view onto the entity rows: one ASOF LEFT JOIN per view. */
function joinSql(refs: ResolvedRefs, entityColumns: string[], eventColumn: string, ctx: PathContext): string {
  const event = `CAST(e.${ident(eventColumn)} AS TIMESTAMP)`;
  const ctes = [`e AS (SELECT row_number() OVER () AS __row, * FROM ${ENTITY})`];
  const joins: string[] = [];
  const selected = entityColumns.map((c) =>
    c === eventColumn ? `strftime(${event}, '%Y-%m-%dT%H:%M:%S.%gZ') AS ${ident(c)}` : `e.${ident(c)}`,
  );
  [...refs.views.values()].forEach(({ view, features }, i) => {
    const keyEq = view.entities
      .map((en) => `CAST(e.${ident(en.joinKey)} AS ${SQL_TYPES[en.valueType]}) = v${i}.${ident(en.joinKey)}`)
      .join(' AND ');
    ctes.push(`v${i} AS (${viewRowsSql(view, features, ctx)})`);
    joins.push(`ASOF LEFT JOIN v${i} ON ${keyEq} AND ${event} >= v${i}.__ts`);
    // ASOF finds the latest row at or before the event; the TTL then decides whether it counts.
    const fresh =
      view.ttl > 0
        ? `v${i}.__ts > ${event} - to_microseconds(${Math.round(view.ttl * 1e6)}::BIGINT)`
        : `v${i}.__ts IS NOT NULL`;
    for (const f of features)
      selected.push(`CASE WHEN ${fresh} THEN v${i}.${ident(f)} END AS ${ident(`${view.name}__${f}`)}`);
  });
  return `WITH ${ctes.join(',\n')} SELECT ${selected.join(', ')} FROM e ${joins.join(' ')} ORDER BY e.__row`;
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
  const joined = joinSql(refs, entityColumns, eventColumn, ctx);
  const columns = [...entityColumns, ...refs.features.map((f) => f.output)];
  try {
    if (refs.onDemand.length === 0) {
      const query = `SELECT ${outputSelect(refs, entityColumns)} FROM (${joined})`;
      if (options.out) return { columns, rows: [], rowCount: await copyToParquet(conn, query, options.out) };
      const reader = await runSql(conn, query, 'point-in-time join');
      const rows = reader.getRowObjects().map((r) => mapValues(r));
      return { columns, rows, rowCount: rows.length };
    }
    const reader = await runSql(conn, joined, 'point-in-time join');
    const internal = reader.getRowObjects().map((r) => mapValues(r));
    const rows = internal.map((row) => projectRow(row, refs, entityColumns));
    if (!options.out) return { columns, rows, rowCount: rows.length };
    await tableFromRows(conn, '__keel_out', rows, {}, columns);
    return {
      columns,
      rows: [],
      rowCount: await copyToParquet(conn, 'SELECT * FROM __keel_out', options.out),
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

async function copyToParquet(conn: DuckDBConnection, query: string, out: string): Promise<number> {
  const tmp = join(dirname(out), `.${shortId()}.parquet.tmp`);
  try {
    const result = await runSql(
      conn,
      `COPY (${query}) TO ${literal(tmp)} (FORMAT parquet)`,
      `writing ${out}`,
    );
    renameSync(tmp, out);
    return Number(result.rowsChanged);
  } finally {
    rmSync(tmp, { force: true });
  }
}
