/**
 * @module features/materialize
 * Copies the latest feature row per entity in a time range from the offline source into the
 * online store. DuckDB's result is streamed in chunks and written in batches, so memory stays
 * bounded; writes are idempotent (the store keeps the newest record), and progress is recorded
 * per view and per window in `<home>/features/materialization.json`, so a crashed run resumes
 * at the first unfinished window.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { invalid, type ProgressFn, writeFileAtomic } from '../core/index.js';
import { ident, prefetchedChunks } from '../data/index.js';
import type { FeatureView } from './definitions.js';
import { type PathContext, toJs, wrapDuckError } from './duck.js';
import { keyOrderSql, keySerializer } from './keys.js';
import type { OnlineStore, OnlineWriteRow } from './online-store.js';
import { tieBreak, viewRowsSql } from './pit-sql.js';
import { rowEncoder } from './values.js';

export interface ViewMaterializationState {
  /** Everything up to here (ms) has been materialized at least once. */
  materializedUntil?: number;
  /** An unfinished run: windows before `doneUntil` are written. */
  pending?: { start: number; end: number; doneUntil: number };
}

export type MaterializationState = Record<string, ViewMaterializationState>;

export interface MaterializeOptions {
  progress?: ProgressFn;
  /** Rows per online write (default 2,000). */
  batchSize?: number;
  /** Split the range into windows of this many ms, each recorded when done (default: one window). */
  windowMs?: number;
  /**
   * Feast's `disable_event_timestamp`: write the latest row of each entity with `eventTime` (ms)
   * as its event timestamp instead of the source's.
   */
  eventTime?: number;
}

export interface MaterializeSummary {
  view: string;
  start: string;
  end: string;
  rows: number;
}

export const statePath = (home: string): string => join(home, 'features', 'materialization.json');

export function readState(path: string): MaterializationState {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as MaterializationState) : {};
}

function updateState(
  path: string,
  view: string,
  change: (s: ViewMaterializationState) => ViewMaterializationState,
) {
  const state = readState(path);
  state[view] = change(state[view] ?? {});
  writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`);
}

/**
 * The latest row per entity with start <= ts <= end (ms), timestamps as epoch ms; ties broken by
 * `tieBreak`, the rule the point-in-time join uses. Rows come in the order of their serialized
 * keys (`keyOrderSql`), so the online store receives them in its own index order.
 */
function latestSql(view: FeatureView, start: number, end: number, ctx: PathContext): string {
  const keys = view.entities.map((e) => ident(e.joinKey)).join(', ');
  const features = Object.keys(view.schema).map(ident).join(', ');
  return `SELECT ${keys}, epoch_ms(__ts) AS __ts, epoch_ms(__created) AS __created, ${features}
    FROM (${viewRowsSql(view, Object.keys(view.schema), ctx, false)})
    WHERE __ts >= epoch_ms(${Math.floor(start)}::BIGINT) AND __ts <= epoch_ms(${Math.floor(end)}::BIGINT)
    QUALIFY row_number() OVER (PARTITION BY ${keys} ORDER BY __ts DESC, ${tieBreak(view)}) = 1
    ORDER BY ${keyOrderSql(view.entities)}`;
}

async function copyWindow(
  conn: DuckDBConnection,
  ctx: PathContext,
  store: OnlineStore,
  view: FeatureView,
  window: [number, number],
  onBatch: (rows: number) => void,
  options: { batchSize: number; eventTime?: number },
): Promise<void> {
  const { batchSize, eventTime } = options;
  const result = await conn.stream(latestSql(view, window[0], window[1], ctx)).catch((err) => {
    throw wrapDuckError(err, `materializing ${view.name}`);
  });
  const names = result.columnNames();
  const features = Object.keys(view.schema);
  const serialize = keySerializer(view.entities);
  let batch: OnlineWriteRow[] = [];
  const flush = async () => {
    await store.onlineWrite(view.name, batch);
    onBatch(batch.length);
    batch = [];
  };
  const at = (name: string) => names.indexOf(name);
  const keyCols = view.entities.map((e) => [e.joinKey, at(e.joinKey), e.valueType] as const);
  const featureCols = features.map((f) => at(f));
  const [tsCol, createdCol] = [at('__ts'), at('__created')];
  const keyValues: Record<string, bigint | string> = {};
  const encode = rowEncoder(features);
  // DuckDB computes the next chunk on its own threads while this one is written.
  for await (const chunk of prefetchedChunks(result)) {
    const columns = chunk.getColumns();
    const values = featureCols.map((c) => columns[c].map(toJs));
    for (let r = 0; r < chunk.rowCount; r++) {
      for (const [k, c, type] of keyCols) {
        const v = columns[c][r];
        keyValues[k] = type === 'int64' ? (v as bigint) : String(v);
      }
      const created = columns[createdCol][r] as bigint | null;
      batch.push({
        entityKey: serialize(keyValues),
        record: {
          eventTs: eventTime ?? Number(columns[tsCol][r] as bigint),
          createdTs: created === null || eventTime !== undefined ? undefined : Number(created),
          payload: encode(values, r),
        },
      });
      if (batch.length >= batchSize) await flush();
    }
  }
  if (batch.length > 0) await flush();
}

/**
 * Materializes one view over [start, end] (ms, both inclusive), resuming an unfinished run of
 * the same range.
 * @throws KeelError INVALID_PARAMETER_VALUE for an empty range or a source DuckDB cannot read.
 */
export async function materializeView(
  conn: DuckDBConnection,
  ctx: PathContext,
  store: OnlineStore,
  view: FeatureView,
  range: { start: number; end: number },
  options: MaterializeOptions = {},
): Promise<MaterializeSummary> {
  const { start, end } = range;
  if (!(end >= start)) throw invalid(`materialize ${view.name}: end ${end} is before start ${start}`);
  const path = statePath(ctx.home);
  const pending = readState(path)[view.name]?.pending;
  let from = pending && pending.start === start && pending.end === end ? pending.doneUntil : start;
  const step = options.windowMs && options.windowMs > 0 ? options.windowMs : end - start + 1;
  let rows = 0;
  const report = (n: number) => {
    rows += n;
    options.progress?.({ label: `materialize ${view.name}`, done: rows, unit: 'rows' });
  };
  while (from <= end) {
    const to = Math.min(from + step - 1, end);
    await copyWindow(conn, ctx, store, view, [from, to], report, {
      batchSize: options.batchSize ?? 2000,
      eventTime: options.eventTime,
    });
    from = to + 1;
    const doneUntil = from;
    updateState(path, view.name, (s) => ({ ...s, pending: { start, end, doneUntil } }));
  }
  updateState(path, view.name, (s) => ({ materializedUntil: Math.max(s.materializedUntil ?? end, end) }));
  return { view: view.name, start: new Date(start).toISOString(), end: new Date(end).toISOString(), rows };
}

/** Where an incremental run of a view starts: after its last run, else `end - ttl` (else the epoch). */
export function incrementalStart(ctx: PathContext, view: FeatureView, end: number): number {
  const until = readState(statePath(ctx.home))[view.name]?.materializedUntil;
  if (until !== undefined) return until + 1;
  return view.ttl > 0 ? end - view.ttl * 1000 : 0;
}
