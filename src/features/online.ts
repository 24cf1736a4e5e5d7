/**
 * @module features/online
 * Online retrieval: reads the requested views of every entity row in one store call, judges age
 * at read time (OUTSIDE_MAX_AGE, from each record's own event timestamp), runs on-demand views,
 * and answers column-major, as Feast's feature server does.
 */
import { invalid } from '../core/index.js';
import type { FeatureValue } from './definitions.js';
import { applyOnDemand } from './on-demand.js';
import { entityKey, type OnlineReadRequest, type OnlineRecord, type OnlineStore } from './online-store.js';
import { joinKeysOf, type ResolvedRefs } from './refs.js';

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
}

const EPOCH = '1970-01-01T00:00:00Z';
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

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

/**
 * Reads features for columnar entity rows. `entities` holds the join keys and any request fields
 * on-demand views need; `now` (ms) decides max age.
 * @throws KeelError INVALID_PARAMETER_VALUE for a missing join key or ragged columns.
 */
export async function readOnlineFeatures(
  store: OnlineStore,
  refs: ResolvedRefs,
  entities: Readonly<Record<string, readonly unknown[]>>,
  now: number,
): Promise<OnlineResponse> {
  const n = columnLength(entities);
  const keys = joinKeysOf(refs.views.values());
  for (const key of keys) {
    if (!entities[key])
      throw invalid(`entities lack join key '${key}' (given: ${Object.keys(entities).join(', ')})`);
  }
  const views = [...refs.views.values()];
  const rows = Array.from({ length: n }, (_, i) =>
    Object.fromEntries(Object.entries(entities).map(([k, v]) => [k, v[i]])),
  );

  // One request per distinct entity key of a row; views over the same entities share it.
  const requests: OnlineReadRequest[] = [];
  const where: Array<Map<string, [number, number]>> = rows.map((row) => {
    const byKey = new Map<string, string[]>();
    for (const { view } of views) {
      const key = entityKey(view.entities, row);
      byKey.set(key, [...(byKey.get(key) ?? []), view.name]);
    }
    const located = new Map<string, [number, number]>();
    for (const [key, names] of byKey) {
      for (const [j, name] of names.entries()) located.set(name, [requests.length, j]);
      requests.push({ entityKey: key, views: names });
    }
    return located;
  });
  const answers = await store.onlineRead(requests);
  const recordOf = (row: number, view: string): OnlineRecord | undefined => {
    const [r, j] = where[row].get(view) as [number, number];
    return answers[r][j];
  };

  const response: OnlineResponse = { featureNames: [...keys], results: [] };
  for (const key of keys) {
    response.results.push({
      values: rows.map((r) => r[key] as FeatureValue),
      statuses: rows.map(() => 'PRESENT'),
      eventTimestamps: rows.map(() => EPOCH),
    });
  }
  const stored = (row: number, view: string, feature: string): [FeatureValue, FeatureStatus, string] => {
    const record = recordOf(row, view);
    if (!record) return [null, 'NOT_FOUND', EPOCH];
    const maxAge = refs.views.get(view)?.view.onlineMaxAge ?? 0;
    const ts = iso(record.eventTs);
    if (maxAge > 0 && now - record.eventTs >= maxAge * 1000) return [null, 'OUTSIDE_MAX_AGE', ts];
    const value = record.values[feature] ?? null;
    return [value, value === null ? 'NULL_VALUE' : 'PRESENT', ts];
  };
  const computed = rows.map((row, i) =>
    applyOnDemand(refs.onDemand, row, (view, feature) => stored(i, view, feature)[0]),
  );
  for (const f of refs.features) {
    const column: OnlineColumn = { values: [], statuses: [], eventTimestamps: [] };
    for (let i = 0; i < n; i++) {
      const [value, status, ts] = f.onDemand
        ? ((v: FeatureValue) => [v, v === null ? 'NULL_VALUE' : 'PRESENT', iso(now)] as const)(
            computed[i].get(f.view)?.[f.feature] ?? null,
          )
        : stored(i, f.view, f.feature);
      column.values.push(value);
      column.statuses.push(status);
      column.eventTimestamps.push(ts);
    }
    response.featureNames.push(f.output);
    response.results.push(column);
  }
  return response;
}
