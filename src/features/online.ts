/**
 * @module features/online
 * Online retrieval: parses each view's entity keys strictly, reads every view with one store call
 * for all entities of the request (the calls of different views run concurrently), judges age at
 * read time (OUTSIDE_MAX_AGE from each record's own event timestamp, boundary included as Feast's
 * TTL is), runs on-demand views, and answers column-major, as Feast's feature server does.
 */
import { invalid, TimeSlicer } from '../core/index.js';
import type { Entity, FeatureValue, FeatureView } from './definitions.js';
import { int64Out, keySerializer, keyValue } from './keys.js';
import { applyOnDemand } from './on-demand.js';
import type { OnlineRecord, OnlineStore } from './online-store.js';
import { joinKeysOf, type ResolvedRefs } from './refs.js';
import { decodeValues } from './values.js';

/** Feast's field statuses. */
export type FeatureStatus = 'PRESENT' | 'NULL_VALUE' | 'NOT_FOUND' | 'OUTSIDE_MAX_AGE';

export interface OnlineColumn {
  values: FeatureValue[];
  statuses: FeatureStatus[];
  /** ISO-8601, UTC; `1970-01-01T00:00:00Z` for entity keys and missing values. */
  eventTimestamps: string[];
}

/** Column-major: `results[i]` holds every row's value of `featureNames[i]`; entity keys first. */
export interface OnlineResponse {
  featureNames: string[];
  results: OnlineColumn[];
  /** With `includeFeatureViewVersionMetadata`: each view read and its registered version. */
  featureViewMetadata?: { name: string; version: number }[];
}

const EPOCH = '1970-01-01T00:00:00Z';
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
/** Most time a request holds the event loop before it lets others in (a large request's loops). */
const SLICE_MS = 10;

function columnLength(entities: Readonly<Record<string, readonly unknown[]>>): number {
  const lengths = new Set(Object.values(entities).map((v) => v.length));
  if (lengths.size > 1) {
    throw invalid(
      `entity columns differ in length: ${Object.entries(entities)
        .map(([k, v]) => `${k}=${v.length}`)
        .join(', ')}`,
    );
  }
  return [...lengths][0] ?? 0;
}

/** Each join key's column parsed by its entity's declared type (the first view declaring it). */
function parseKeyColumns(
  views: readonly FeatureView[],
  entities: Readonly<Record<string, readonly unknown[]>>,
): Map<string, (bigint | string)[]> {
  const declared = new Map<string, Entity>();
  for (const v of views) for (const e of v.entities) if (!declared.has(e.joinKey)) declared.set(e.joinKey, e);
  const parsed = new Map<string, (bigint | string)[]>();
  for (const [key, entity] of declared) {
    const column = entities[key];
    if (!column)
      throw invalid(`entities lack join key '${key}' (given: ${Object.keys(entities).join(', ')})`);
    parsed.set(
      key,
      column.map((raw, i) => keyValue(entity, raw, `[${i}]`)),
    );
  }
  return parsed;
}

/** Reads one view for every row: distinct keys once, in one store call. */
async function readView(
  store: OnlineStore,
  view: FeatureView,
  features: readonly string[],
  keys: Map<string, (bigint | string)[]>,
  n: number,
  slicer: TimeSlicer,
): Promise<(OnlineRecord | undefined)[]> {
  const serialize = keySerializer(view.entities);
  const rowKeys: string[] = new Array(n);
  const distinct = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const values: Record<string, bigint | string> = {};
    for (const e of view.entities) values[e.joinKey] = (keys.get(e.joinKey) as (bigint | string)[])[i];
    const key = serialize(values);
    rowKeys[i] = key;
    if (!distinct.has(key)) distinct.set(key, distinct.size);
    if (slicer.due()) await slicer.turn();
  }
  const records = await store.onlineRead(view.name, [...distinct.keys()], features);
  return rowKeys.map((k) => records[distinct.get(k) as number]);
}

/**
 * Reads features for columnar entity rows. `entities` holds the join keys and any request fields
 * on-demand views need; `now` (ms) decides max age.
 * @throws KeelError INVALID_PARAMETER_VALUE for a missing or wrongly typed join key or ragged columns.
 */
export async function readOnlineFeatures(
  store: OnlineStore,
  refs: ResolvedRefs,
  entities: Readonly<Record<string, readonly unknown[]>>,
  now: number,
  options: { includeFeatureViewVersionMetadata?: boolean } = {},
): Promise<OnlineResponse> {
  const n = columnLength(entities);
  const slicer = new TimeSlicer(SLICE_MS);
  const views = [...refs.views.values()];
  const keyColumns = parseKeyColumns(
    views.map((v) => v.view),
    entities,
  );
  const records = new Map(
    await Promise.all(
      views.map(
        async ({ view, features }) =>
          [view.name, await readView(store, view, features, keyColumns, n, slicer)] as const,
      ),
    ),
  );

  const response: OnlineResponse = { featureNames: joinKeysOf(refs.views.values()), results: [] };
  for (const key of response.featureNames) {
    const parsed = keyColumns.get(key) as (bigint | string)[];
    response.results.push({
      values: parsed.map((v) => (typeof v === 'bigint' ? int64Out(v) : v)),
      statuses: new Array(n).fill('PRESENT'),
      eventTimestamps: new Array(n).fill(EPOCH),
    });
  }

  // Each view's records judged and decoded once per row, with the features this request reads.
  const judged = new Map<string, { values: (Record<string, FeatureValue> | undefined)[]; ts: string[] }>();
  for (const { view, features } of views) {
    const column = records.get(view.name) as (OnlineRecord | undefined)[];
    const maxAge = view.onlineMaxAge ?? 0;
    const values: (Record<string, FeatureValue> | undefined)[] = new Array(n);
    const ts: string[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const r = column[i];
      if (r) {
        ts[i] = iso(r.eventTs);
        // Feast's TTL keeps a row exactly `ttl` old (event_ts >= entity_ts - ttl); max age does the same.
        if (!(maxAge > 0 && now - r.eventTs > maxAge * 1000))
          values[i] = decodeValues(view.schema, features, r.payload);
      }
      if (slicer.due()) await slicer.turn();
    }
    judged.set(view.name, { values, ts });
  }
  const stored = (row: number, view: string, feature: string): [FeatureValue, FeatureStatus, string] => {
    const j = judged.get(view);
    const ts = j?.ts[row];
    if (ts === undefined) return [null, 'NOT_FOUND', EPOCH];
    const values = j?.values[row];
    if (!values) return [null, 'OUTSIDE_MAX_AGE', ts];
    const value = values[feature] ?? null;
    return [value, value === null ? 'NULL_VALUE' : 'PRESENT', ts];
  };

  const computed =
    refs.onDemand.length === 0
      ? []
      : Array.from({ length: n }, (_, i) => {
          const request = Object.fromEntries(Object.entries(entities).map(([k, v]) => [k, v[i]]));
          return applyOnDemand(refs.onDemand, request, (view, feature) => stored(i, view, feature)[0]);
        });
  const nowIso = iso(now);
  for (const f of refs.features) {
    const column: OnlineColumn = {
      values: new Array(n),
      statuses: new Array(n),
      eventTimestamps: new Array(n),
    };
    for (let i = 0; i < n; i++) {
      let cell: [FeatureValue, FeatureStatus, string];
      if (f.onDemand) {
        const v = computed[i].get(f.view)?.[f.feature] ?? null;
        cell = [v, v === null ? 'NULL_VALUE' : 'PRESENT', nowIso];
      } else cell = stored(i, f.view, f.feature);
      column.values[i] = cell[0];
      column.statuses[i] = cell[1];
      column.eventTimestamps[i] = cell[2];
      if (slicer.due()) await slicer.turn();
    }
    response.featureNames.push(f.output);
    response.results.push(column);
  }
  if (options.includeFeatureViewVersionMetadata) {
    response.featureViewMetadata = refs.lineage.map((entry) => {
      const at = entry.lastIndexOf('@');
      return { name: entry.slice(0, at), version: Number(entry.slice(at + 1)) };
    });
  }
  return response;
}
