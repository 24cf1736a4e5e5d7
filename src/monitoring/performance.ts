/**
 * @module monitoring/performance
 * Realised performance once ground truth arrives: the prediction log joined with its `/feedback`
 * labels by request id and row, cut per version into chunks (a UTC hour or day, or N labelled
 * rows in time order), with label coverage and the metrics of `ml/evaluate` per chunk and over the
 * whole window, and optional bounds that flag the chunks breaking them. DuckDB filters, joins and
 * assigns chunks; the metrics are the same functions `keel evaluate` uses, so they match
 * scikit-learn.
 */
import { z } from 'zod';
import { KeelError, parseInput } from '../core/index.js';
import { queryRows, withDuckDB } from '../data/index.js';
import { classificationMetrics, regressionSummary } from '../ml/index.js';
import { type PredictionQuery, predictionsSql } from './prediction-reader.js';

const PERIOD_MS = { hour: 3_600_000, day: 86_400_000 } as const;

/** The metric names per task, plus `coverage` (labelled / logged rows), which thresholds may bound. */
export const PERFORMANCE_METRICS = {
  binary: ['roc_auc', 'average_precision', 'log_loss', 'brier', 'accuracy', 'precision', 'recall', 'f1'],
  regression: ['rmse', 'mae', 'r2'],
} as const;

const optionsSchema = z.object({
  home: z.string().min(1),
  model: z.string().min(1),
  from: z.number().optional(),
  to: z.number().optional(),
  chunk: z.union([
    z.strictObject({ rows: z.number().int().positive() }),
    z.strictObject({ period: z.enum(['hour', 'day']) }),
  ]),
  task: z.enum(['binary', 'regression']).optional(),
  thresholds: z
    .array(
      z
        .strictObject({ metric: z.string().min(1), min: z.number().optional(), max: z.number().optional() })
        .refine((t) => t.min !== undefined || t.max !== undefined, { message: 'give min or max' }),
    )
    .optional(),
});

export type PerformanceOptions = z.input<typeof optionsSchema> & Omit<PredictionQuery, 'labels'>;
export type PerformanceThreshold = NonNullable<PerformanceOptions['thresholds']>[number];

/** A metric outside a threshold's bounds. */
export interface PerformanceBreach {
  metric: string;
  value: number;
  min?: number;
  max?: number;
}

export interface ChunkPerformance {
  /** Position among the version's chunks in time order, from 0; absent for the whole window. */
  index?: number;
  /** ms since the epoch: a period chunk's bounds [start, end), else its first and last rows' times. */
  start: number;
  end: number;
  /** Rows logged, and rows with both a score and a label (the ones the metrics use). */
  logged: number;
  labelled: number;
  /** labelled / logged. */
  coverage: number;
  /** The task's metrics; null where undefined (no labelled rows, AUC over one class, R² of constant labels). */
  metrics: Record<string, number | null>;
  /** Why a metric is null. */
  notes: string[];
  /** The thresholds this chunk breaks (a null metric breaks none). */
  breaches: PerformanceBreach[];
}

export interface VersionPerformance {
  version: string;
  overall: ChunkPerformance;
  chunks: ChunkPerformance[];
}

export interface PerformanceResult {
  model: string;
  task: 'binary' | 'regression';
  chunk: { rows: number } | { period: 'hour' | 'day' };
  versions: VersionPerformance[];
  /** False when any chunk breaks a threshold. */
  passed: boolean;
}

interface Labelled {
  version: string;
  chunk: number;
  score: number;
  label: number;
  request_id: string;
  row: number;
}

/**
 * Realised performance of a model per version and chunk, with coverage and threshold breaches.
 * The task defaults to binary when every label is 0 or 1, else regression. Binary metrics are
 * taken at a 0.5 threshold.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST when no predictions are logged for the model in the
 *   window; INVALID_PARAMETER_VALUE for bad options, a threshold on an unknown metric, or a
 *   binary task with a label other than 0 or 1.
 */
export async function realisedPerformance(options: PerformanceOptions): Promise<PerformanceResult> {
  const opts = parseInput(optionsSchema, options, 'performance options');
  const logged = predictionsSql({
    home: opts.home,
    model: opts.model,
    from: opts.from,
    to: opts.to,
    labels: true,
  });
  const order = 'ts, request_id, "row"';
  // Row chunks: a row's chunk counts the labelled rows before it, so each chunk holds N labelled
  // rows and the unlabelled ones logged among them (those after the last label start the next).
  const chunk =
    'rows' in opts.chunk
      ? `CAST(floor(coalesce(sum(CAST(labelled AS INTEGER)) OVER (PARTITION BY version ORDER BY ${order} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) / ${opts.chunk.rows}) AS BIGINT)`
      : `epoch_ms(date_trunc('${opts.chunk.period}', ts))`;
  const base = `WITH base AS (SELECT version, "timestamp" AS ts, request_id, "row", score, label,
      label IS NOT NULL AND score IS NOT NULL AND NOT isnan(score) AS labelled FROM (${logged})),
    chunked AS (SELECT *, ${chunk} AS chunk FROM base)`;
  const versionOrder = 'TRY_CAST(version AS BIGINT) NULLS LAST, version';
  const [summary, labelled] = await withDuckDB(async (conn) => [
    await queryRows(
      conn,
      `${base} SELECT version, chunk, count(*) AS logged, count(*) FILTER (WHERE labelled) AS labelled,
        epoch_ms(min(ts)) AS first, epoch_ms(max(ts)) AS last
      FROM chunked GROUP BY version, chunk ORDER BY ${versionOrder}, chunk`,
    ),
    (await queryRows(
      conn,
      `${base} SELECT version, chunk, score, label, request_id, "row" FROM chunked WHERE labelled
      ORDER BY ${versionOrder}, chunk, ${order}`,
    )) as unknown as Labelled[],
  ]);
  if (summary.length === 0)
    throw new KeelError(
      'RESOURCE_DOES_NOT_EXIST',
      `no predictions of model '${opts.model}' are logged in the window asked for`,
    );
  const task = opts.task ?? (labelled.every((r) => r.label === 0 || r.label === 1) ? 'binary' : 'regression');
  if (task === 'binary') {
    const bad = labelled.find((r) => r.label !== 0 && r.label !== 1);
    if (bad)
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `task binary needs labels 0 or 1; model '${opts.model}' has label ${bad.label} (request '${bad.request_id}', row ${bad.row})`,
      );
  }
  const thresholds = opts.thresholds ?? [];
  const names: readonly string[] = [...PERFORMANCE_METRICS[task], 'coverage'];
  for (const t of thresholds)
    if (!names.includes(t.metric))
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `threshold metric '${t.metric}' is not one of ${names.join(', ')} (task ${task})`,
      );

  const key = (version: string, c: number) => `${version}\u0000${c}`;
  const rowsOf = new Map<string, Labelled[]>();
  for (const r of labelled) {
    const k = key(r.version, r.chunk);
    const list = rowsOf.get(k);
    if (list) list.push(r);
    else rowsOf.set(k, [r]);
  }
  const chunksOf = new Map<string, ChunkPerformance[]>();
  for (const s of summary) {
    const version = s.version as string;
    const chunks = chunksOf.get(version) ?? [];
    chunksOf.set(version, chunks);
    const bounds =
      'period' in opts.chunk
        ? { start: s.chunk as number, end: (s.chunk as number) + PERIOD_MS[opts.chunk.period] }
        : { start: s.first as number, end: s.last as number };
    const c = measure(task, rowsOf.get(key(version, s.chunk as number)) ?? [], s.logged as number, bounds);
    chunks.push({ index: chunks.length, ...c, breaches: breaches(c, thresholds) });
  }
  const versions = [...chunksOf].map(([version, chunks]): VersionPerformance => {
    const overall = measure(
      task,
      labelled.filter((r) => r.version === version),
      chunks.reduce((n, c) => n + c.logged, 0),
      { start: chunks[0].start, end: chunks[chunks.length - 1].end },
    );
    return { version, overall, chunks };
  });
  return {
    model: opts.model,
    task,
    chunk: opts.chunk,
    versions,
    passed: versions.every((v) => v.chunks.every((c) => c.breaches.length === 0)),
  };
}

function measure(
  task: 'binary' | 'regression',
  rows: Labelled[],
  logged: number,
  bounds: { start: number; end: number },
): ChunkPerformance {
  const y = Float64Array.from(rows, (r) => r.label);
  const p = Float64Array.from(rows, (r) => r.score);
  const { metrics, notes } = metricsOf(task, y, p);
  return {
    ...bounds,
    logged,
    labelled: rows.length,
    coverage: rows.length / logged,
    metrics,
    notes,
    breaches: [],
  };
}

function metricsOf(
  task: 'binary' | 'regression',
  y: Float64Array,
  p: Float64Array,
): { metrics: Record<string, number | null>; notes: string[] } {
  const names = PERFORMANCE_METRICS[task];
  if (y.length === 0)
    return { metrics: Object.fromEntries(names.map((n) => [n, null])), notes: ['no labelled rows'] };
  const { metrics: raw, warnings: notes } =
    task === 'binary' ? classificationMetrics(y, p, 0.5) : regressionSummary(y, p);
  const metrics: Record<string, number | null> = {};
  for (const n of names) metrics[n] = raw[n] ?? null;
  return { metrics, notes };
}

function breaches(c: ChunkPerformance, thresholds: PerformanceThreshold[]): PerformanceBreach[] {
  const out: PerformanceBreach[] = [];
  for (const t of thresholds) {
    const value = t.metric === 'coverage' ? c.coverage : c.metrics[t.metric];
    if (value === null || value === undefined) continue;
    if ((t.min !== undefined && value < t.min) || (t.max !== undefined && value > t.max))
      out.push({
        metric: t.metric,
        value,
        ...(t.min === undefined ? {} : { min: t.min }),
        ...(t.max === undefined ? {} : { max: t.max }),
      });
  }
  return out;
}
