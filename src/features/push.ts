/**
 * @module features/push
 * Feast's push: columnar rows sent to a push source reach every feature view declared over it,
 * online (the store's newer-record rule decides each row), offline (one Parquet file appended
 * atomically to the push source's batch source), or both. Everything is checked before anything
 * is written, so a bad column or value writes nothing; offline is written before online, so an
 * online failure leaves only rows that the next materialization would copy anyway.
 */
import { invalid } from '../core/index.js';
import { type FeatureValue, type FeatureView, fitsType } from './definitions.js';
import { describe, keySerializer, keyValue } from './keys.js';
import type { OnlineStore, OnlineWriteRow } from './online-store.js';
import { toEpochMs } from './time.js';
import { encodeValues } from './values.js';

export type PushTarget = 'online' | 'offline' | 'online_and_offline';

export interface PushOptions {
  to?: PushTarget;
  /**
   * Accept rows that lack some features of a fed view; those features are written as null.
   * Feast refuses such a push, and so does Keel unless this is set.
   */
  allowMissingFeatures?: boolean;
}

export interface PushSummary {
  pushSource: string;
  /** Rows in the push. */
  rows: number;
  /** Per fed view: rows the online store took, and rows older than what it held (not written). */
  views: { view: string; written: number; stale: number }[];
  /** Parquet files appended offline. */
  offlineFiles: string[];
}

/** Validated rows of a push, ready to be written. */
export interface PreparedPush {
  n: number;
  /** Column name to parsed values; timestamps as epoch ms. */
  columns: Map<string, FeatureValue[]>;
  eventMs: number[];
  createdMs: (number | undefined)[];
}

const NS_PER_MS = 1_000_000n;
/** 1972-01-01 in ns: a number below this read as ns is surely in another unit. */
const EARLIEST_NS = 63_072_000_000_000_000n;

/**
 * A pushed timestamp: an ISO-8601 string or Date, or a number of nanoseconds since the epoch, as
 * Feast reads numbers (`pandas.to_datetime` on an int64 column). A number that would land before
 * 1972 that way is refused rather than silently misread (it is surely seconds or milliseconds).
 */
export function pushedTimestampMs(value: unknown, what: string): number {
  if (typeof value === 'number' || typeof value === 'bigint') {
    const ns = typeof value === 'bigint' ? value : Number.isInteger(value) ? BigInt(value) : undefined;
    if (ns === undefined) throw invalid(`${what} must be an integer number of nanoseconds, got ${value}`);
    if (ns < EARLIEST_NS) {
      throw invalid(
        `${what} is ${value}: numbers are nanoseconds since the epoch (as Feast reads them), which puts it at ${new Date(Number(ns / NS_PER_MS)).toISOString()}; send an ISO-8601 string or nanoseconds`,
      );
    }
    return Number(ns / NS_PER_MS);
  }
  return toEpochMs(value, what);
}

/**
 * Checks a push against the views it feeds and parses every value.
 * @throws KeelError INVALID_PARAMETER_VALUE naming the column (and row) of the first problem.
 */
export function preparePush(
  source: string,
  views: readonly FeatureView[],
  df: Readonly<Record<string, readonly unknown[]>>,
  options: PushOptions,
): PreparedPush {
  const lengths = new Set(Object.values(df).map((c) => c.length));
  if (lengths.size > 1) {
    const shape = Object.entries(df).map(([k, v]) => `${k}=${v.length}`);
    throw invalid(`push to ${source}: columns differ in length (${shape.join(', ')})`);
  }
  const n = [...lengths][0] ?? 0;
  const { timestampField, createdTimestampField } = views[0].source;
  const known = new Set<string>([timestampField, ...(createdTimestampField ? [createdTimestampField] : [])]);
  for (const v of views) {
    for (const e of v.entities) {
      known.add(e.joinKey);
      if (!Object.hasOwn(df, e.joinKey))
        throw invalid(`push to ${source}: join key column '${e.joinKey}' is missing`);
    }
    for (const f of Object.keys(v.schema)) known.add(f);
  }
  if (!Object.hasOwn(df, timestampField))
    throw invalid(`push to ${source}: timestamp column '${timestampField}' is missing`);
  const unknown = Object.keys(df).filter((c) => !known.has(c));
  if (unknown.length > 0) {
    throw invalid(`push to ${source}: columns ${unknown.join(', ')} belong to no view it feeds`);
  }
  if (!options.allowMissingFeatures) {
    const missing = views.flatMap((v) =>
      Object.keys(v.schema)
        .filter((f) => !Object.hasOwn(df, f))
        .map((f) => `${v.name}:${f}`),
    );
    if (missing.length > 0) {
      throw invalid(
        `push to ${source}: feature columns ${missing.join(', ')} are missing (as Feast, a push carries every feature of the views it feeds; set allow_missing_features to write them as null)`,
      );
    }
  }

  const columns = new Map<string, FeatureValue[]>();
  for (const v of views) {
    for (const e of v.entities) {
      if (columns.has(e.joinKey)) continue;
      columns.set(
        e.joinKey,
        (df[e.joinKey] as unknown[]).map((raw, i) => {
          const parsed = keyValue(e, raw, `[${i}] in the push to ${source}`);
          return parsed;
        }),
      );
    }
    for (const [f, type] of Object.entries(v.schema)) {
      if (columns.has(f) || !Object.hasOwn(df, f)) continue;
      columns.set(
        f,
        (df[f] as unknown[]).map((raw, i) => {
          const value = raw === undefined ? null : raw;
          if (!fitsType(type, value))
            throw invalid(`push to ${source}: ${f}[${i}] must be ${type}, got ${describe(raw)}`);
          return value;
        }),
      );
    }
  }
  const eventMs = (df[timestampField] as unknown[]).map((raw, i) =>
    pushedTimestampMs(raw, `push to ${source}: ${timestampField}[${i}]`),
  );
  const created = createdTimestampField ? df[createdTimestampField] : undefined;
  const createdMs = Array.from({ length: n }, (_, i) =>
    created?.[i] == null
      ? undefined
      : pushedTimestampMs(created[i], `push to ${source}: ${createdTimestampField}[${i}]`),
  );
  return { n, columns, eventMs, createdMs };
}

/** Writes a prepared push to one view online; returns how many rows the store took. */
export async function pushOnline(store: OnlineStore, view: FeatureView, push: PreparedPush): Promise<number> {
  const serialize = keySerializer(view.entities);
  const features = Object.keys(view.schema);
  const rows: OnlineWriteRow[] = [];
  for (let i = 0; i < push.n; i++) {
    const keys: Record<string, bigint | string> = {};
    for (const e of view.entities) keys[e.joinKey] = push.columns.get(e.joinKey)?.[i] as bigint | string;
    const values: Record<string, FeatureValue> = {};
    for (const f of features) values[f] = push.columns.get(f)?.[i] ?? null;
    rows.push({
      entityKey: serialize(keys),
      record: {
        eventTs: push.eventMs[i],
        createdTs: push.createdMs[i],
        payload: encodeValues(features, values),
      },
    });
  }
  return store.onlineWrite(view.name, rows);
}
