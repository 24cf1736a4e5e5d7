/**
 * @module monitoring/prediction-reader
 * Reading the prediction log back: as a DuckDB relation (SQL text over the Parquet files, for
 * drift and performance queries), as typed rows, or as counts per version. Ground-truth labels
 * are joined by request id and row, the latest label of a row winning.
 */
import { KeelError } from '../core/index.js';
import { literal, queryRows, type Row, withDuckDB } from '../data/index.js';
import { feedbackDir, PREDICTION_COLUMNS, partitionFiles, predictionsDir } from './prediction-files.js';

export interface PredictionQuery {
  /** The Keel home the server logged under. */
  home: string;
  model: string;
  /** Only rows logged at or after this time (ms since the epoch). */
  from?: number;
  /** Only rows logged before this time (ms since the epoch). */
  to?: number;
  /** Add each row's ground-truth `label` (null when none was given). */
  labels?: boolean;
}

/** One logged prediction: one row of a scored request. */
export interface LoggedPrediction {
  /** ms since the epoch. */
  timestamp: number;
  requestId: string;
  model: string;
  version: string;
  canary: boolean;
  /** Scored by the model's shadow: logged, never answered (false in logs from before shadows). */
  shadow: boolean;
  /** The row's position in its request. */
  row: number;
  score: number | null;
  latencyMs: number;
  /** With `labels`: the ground truth given for this row, or null. */
  label?: number | null;
  /** The model inputs (encoded, or entity keys plus looked-up features), by column name. */
  features: Record<string, number | string | null>;
}

/** Rows logged for one version of a model. */
export interface VersionSummary {
  version: string;
  rows: number;
  requests: number;
  /** Rows scored by the version while it was the canary. */
  canaryRows: number;
  /** ms since the epoch of its first and last logged rows. */
  first: number;
  last: number;
}

const list = (files: string[]) => `[${files.map(literal).join(', ')}]`;

/**
 * The logged predictions of a model as DuckDB SQL (a SELECT to use as a subquery): the columns
 * `timestamp, request_id, model, version, canary, row, score, latency_ms`, the model's inputs,
 * and with `labels` a `label` column.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST when nothing was logged for the model.
 */
export function predictionsSql(query: PredictionQuery): string {
  const dir = predictionsDir(query.home, query.model);
  const files = partitionFiles(dir, query.from, query.to);
  if (files.length === 0) {
    if (partitionFiles(dir).length > 0)
      // Files exist, only not in this window: an empty relation of the same shape.
      return `${predictionsSql({ ...query, from: undefined, to: undefined })} LIMIT 0`;
    throw new KeelError(
      'RESOURCE_DOES_NOT_EXIST',
      `no predictions of model '${query.model}' are logged under ${dir}`,
    );
  }
  const where = [
    ...(query.from === undefined ? [] : [`"timestamp" >= epoch_ms(${Math.floor(query.from)})`]),
    ...(query.to === undefined ? [] : [`"timestamp" < epoch_ms(${Math.ceil(query.to)})`]),
  ];
  const predictions = `SELECT * FROM read_parquet(${list(files)}, union_by_name = true, hive_partitioning = false)${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}`;
  if (!query.labels) return predictions;
  const labelFiles = partitionFiles(feedbackDir(query.home));
  if (labelFiles.length === 0) return `SELECT *, CAST(NULL AS DOUBLE) AS label FROM (${predictions})`;
  const labels = `SELECT request_id, "row", arg_max(label, "timestamp") AS label FROM read_parquet(${list(labelFiles)}, hive_partitioning = false) GROUP BY request_id, "row"`;
  return `SELECT p.*, f.label FROM (${predictions}) p LEFT JOIN (${labels}) f ON p.request_id = f.request_id AND p."row" = f."row"`;
}

const FIXED = new Set<string>([...PREDICTION_COLUMNS, 'label']);

function toPrediction(row: Row, labels: boolean): LoggedPrediction {
  const features: Record<string, number | string | null> = {};
  for (const [k, v] of Object.entries(row)) if (!FIXED.has(k)) features[k] = v as number | string | null;
  return {
    timestamp: row.timestamp as number,
    requestId: row.request_id as string,
    model: row.model as string,
    version: row.version as string,
    canary: row.canary as boolean,
    shadow: row.shadow === true,
    row: row.row as number,
    score: row.score as number | null,
    latencyMs: row.latency_ms as number,
    ...(labels ? { label: row.label as number | null } : {}),
    features,
  };
}

/**
 * The logged predictions of a model, oldest first; with `last`, only the latest `last` rows.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST when nothing was logged for the model.
 */
export async function readPredictions(
  query: PredictionQuery & { last?: number },
): Promise<LoggedPrediction[]> {
  const sql = predictionsSql(query);
  const order = ['"timestamp"', 'request_id', '"row"'];
  const ordered =
    query.last === undefined
      ? `SELECT * REPLACE (epoch_ms("timestamp") AS "timestamp") FROM (${sql}) ORDER BY ${order.join(', ')}`
      : `SELECT * FROM (SELECT * REPLACE (epoch_ms("timestamp") AS "timestamp") FROM (${sql}) ORDER BY ${order.map((c) => `${c} DESC`).join(', ')} LIMIT ${Math.max(0, Math.floor(query.last))}) ORDER BY ${order.join(', ')}`;
  const rows = await withDuckDB((conn) => queryRows(conn, ordered));
  return rows.map((r) => toPrediction(r, query.labels === true));
}

/**
 * Rows and requests logged per version of a model, in version order.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST when nothing was logged for the model.
 */
export async function summarizePredictions(
  query: Omit<PredictionQuery, 'labels'>,
): Promise<VersionSummary[]> {
  const sql = `SELECT version, count(*) AS rows, count(DISTINCT request_id) AS requests,
      count(*) FILTER (WHERE canary) AS canary_rows,
      epoch_ms(min("timestamp")) AS first, epoch_ms(max("timestamp")) AS last
    FROM (${predictionsSql(query)}) GROUP BY version
    ORDER BY TRY_CAST(version AS BIGINT) NULLS LAST, version`;
  const rows = await withDuckDB((conn) => queryRows(conn, sql));
  return rows.map((r) => ({
    version: r.version as string,
    rows: r.rows as number,
    requests: r.requests as number,
    canaryRows: r.canary_rows as number,
    first: r.first as number,
    last: r.last as number,
  }));
}
