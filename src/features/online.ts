/**
 * @module features/online
 * Online retrieval: parses each view's entity keys strictly, reads the views keyed by the same
 * entities with one store call for all distinct entities of the request (`onlineReadViews` where
 * the store has it, else a call per view; different entity sets run concurrently), judges age at
 * read time (OUTSIDE_MAX_AGE from each record's own event timestamp, boundary included as Feast's
 * TTL is), runs on-demand views, and answers column-major, as Feast's feature server does
 * (`readOnlineFeatures`), or as a model's columns with what each row lacked (`readServingFeatures`).
 */
import { BoundedCache, invalid, TimeSlicer } from '../core/index.js';
import type { Entity, FeatureValue, FeatureView } from './definitions.js';
import { int64Out, keySerializer, keyValue } from './keys.js';
import { applyOnDemand } from './on-demand.js';
import type { OnlineRecord, OnlineStore } from './online-store.js';
import { joinKeysOf, type ResolvedFeature, type ResolvedRefs } from './refs.js';
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
/**
 * Event times' text, kept across requests: records of one materialization share their time, so
 * a server reads few distinct ones. Bounded: emptied when full.
 */
const isoTexts = new BoundedCache<number, string>(4096);
const eventTimeText = (ms: number): string => isoTexts.getOrMake(ms, iso);
/** A serializer per set of entities (views share their entity objects from the registry). */
const serializers = new WeakMap<readonly Entity[], ReturnType<typeof keySerializer>>();
function serializerOf(entities: readonly Entity[]): ReturnType<typeof keySerializer> {
  let serialize = serializers.get(entities);
  if (!serialize) {
    serialize = keySerializer(entities);
    serializers.set(entities, serialize);
  }
  return serialize;
}
/**
 * Each record's decoded values, with the schema and the features they were decoded for, for a
 * store whose records are the same objects read after read (`keepsRecords`: the online cache), so
 * a payload is parsed once. Shared between reads, so never changed.
 */
const decoded = new WeakMap<
  OnlineRecord,
  { schema: FeatureView['schema']; features: readonly string[]; values: Record<string, FeatureValue> }
>();
function valuesOf(view: FeatureView, features: readonly string[], record: OnlineRecord, keep: boolean) {
  if (!keep) return decodeValues(view.schema, features, record.payload);
  const known = decoded.get(record);
  if (known && known.features === features && known.schema === view.schema) return known.values;
  const values = decodeValues(view.schema, features, record.payload);
  decoded.set(record, { schema: view.schema, features, values });
  return values;
}
/** Serialized keys remembered per set of entities with one join key (see `keyTextOf`). */
const KEY_TEXTS = 65_536;
/**
 * A row's serialized key: for one join key, remembered by its value, so an entity asked for again
 * gets the same string, made once. Its hash is then computed once too, where a new string of 78
 * hex digits was hashed at every lookup (the distinct keys of a request, the online cache's maps).
 */
function keyTextOf(entities: readonly Entity[]): ViewGroup['keyOf'] {
  const serialize = serializerOf(entities);
  if (entities.length !== 1) return serialize;
  const { joinKey } = entities[0];
  const texts = new BoundedCache<bigint | string, string>(KEY_TEXTS);
  return (values) => {
    const value = values[joinKey];
    let text = texts.get(value);
    if (text === undefined) {
      text = serialize(values);
      texts.set(value, text);
    }
    return text;
  };
}
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
  declared: ReadonlyMap<string, Entity>,
  entities: Readonly<Record<string, readonly unknown[]>>,
): Map<string, (bigint | string)[]> {
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

/** One view's read: its distinct records, and for each row the index of its record. */
interface ViewRecords {
  records: (OnlineRecord | undefined)[];
  recordOf: Int32Array;
}

type ViewRead = { view: FeatureView; features: readonly string[] };

/** Views keyed by the same entities (same join keys and types) share one serialized key per row. */
const entitySignature = (view: FeatureView): string =>
  view.entities
    .map((e) => `${e.joinKey}:${e.valueType}`)
    .sort()
    .join(',');

/**
 * The features a store may cut a record down to: worth it (SQLite's JSON operators cost more per
 * feature than parsing a short record) when a read wants fewer than half of a view's features.
 */
const cutTo = ({ view, features }: ViewRead) =>
  features.length * 2 < Object.keys(view.schema).length ? features : undefined;

/** Views read with one store call: keyed by the same entities, so by the same serialized keys. */
interface ViewGroup {
  members: ViewRead[];
  entities: readonly Entity[];
  /** A row's serialized key (see `keyTextOf`). */
  keyOf: (values: Readonly<Record<string, bigint | string>>) => string;
  /** The store call's argument. */
  asked: Array<{ view: string; features?: readonly string[] }>;
}

/**
 * What a read needs that depends only on the refs, worked out once per resolved refs (the store
 * keeps those across requests) rather than on every request of the serving path.
 */
interface ReadPlan {
  views: ViewRead[];
  /** Each join key with the entity that declares its type (the first view declaring it). */
  declared: Map<string, Entity>;
  groups: ViewGroup[];
  joinKeys: string[];
  /** Each output name with its feature (unique: resolveRefs refuses two of one name). */
  byOutput: Map<string, ResolvedFeature>;
}

const plans = new WeakMap<ResolvedRefs, ReadPlan>();

function planOf(refs: ResolvedRefs): ReadPlan {
  const known = plans.get(refs);
  if (known) return known;
  const views = [...refs.views.values()];
  const declared = new Map<string, Entity>();
  for (const { view } of views)
    for (const e of view.entities) if (!declared.has(e.joinKey)) declared.set(e.joinKey, e);
  const bySignature = new Map<string, ViewGroup>();
  for (const v of views) {
    const signature = entitySignature(v.view);
    const group = bySignature.get(signature);
    const asked = { view: v.view.name, features: cutTo(v) };
    if (group) {
      group.members.push(v);
      group.asked.push(asked);
    } else {
      const { entities } = v.view;
      bySignature.set(signature, { members: [v], entities, keyOf: keyTextOf(entities), asked: [asked] });
    }
  }
  const byOutput = new Map(refs.features.map((f) => [f.output, f]));
  const plan = {
    views,
    declared,
    groups: [...bySignature.values()],
    joinKeys: joinKeysOf(views),
    byOutput,
  };
  plans.set(refs, plan);
  return plan;
}

/**
 * Reads every view for every row: the rows' keys serialized once per set of entities, each
 * distinct key read once, every view of a set in one store call when the store reads several
 * views at once, one call per view otherwise.
 */
async function readViews(
  store: OnlineStore,
  groups: readonly ViewGroup[],
  keys: Map<string, (bigint | string)[]>,
  n: number,
  slicer: TimeSlicer,
): Promise<Map<string, ViewRecords>> {
  const byView = new Map<string, ViewRecords>();
  const readGroup = async ({ members, entities, keyOf, asked }: ViewGroup): Promise<void> => {
    const recordOf = new Int32Array(n);
    const distinct = new Map<string, number>();
    const values: Record<string, bigint | string> = {};
    for (let i = 0; i < n; i++) {
      for (const e of entities) values[e.joinKey] = (keys.get(e.joinKey) as (bigint | string)[])[i];
      const key = keyOf(values);
      let at = distinct.get(key);
      if (at === undefined) {
        at = distinct.size;
        distinct.set(key, at);
      }
      recordOf[i] = at;
      if (slicer.due()) await slicer.turn();
    }
    const unique = [...distinct.keys()];
    const found = store.onlineReadViews
      ? await store.onlineReadViews(asked, unique)
      : await Promise.all(asked.map((r) => store.onlineRead(r.view, unique, r.features)));
    for (let g = 0; g < members.length; g++)
      byView.set(members[g].view.name, { records: found[g], recordOf });
  };
  // One set of entities (the usual case) needs no Promise.all around its read.
  if (groups.length === 1) await readGroup(groups[0]);
  else await Promise.all(groups.map(readGroup));
  return byView;
}

/** A view's read, with each distinct record's values (none: not found or too old). */
interface JudgedView extends ViewRecords {
  values: (Record<string, FeatureValue> | undefined)[];
}

/** What both shapes of a read start from: every view's records, judged and decoded once. */
interface JudgedRead {
  n: number;
  plan: ReadPlan;
  keyColumns: Map<string, (bigint | string)[]>;
  judged: Map<string, JudgedView>;
  /** Per row, the on-demand views' outputs (none without on-demand features). */
  computed: Map<string, Record<string, FeatureValue>>[];
  slicer: TimeSlicer;
}

/**
 * Reads, judges and decodes every view's records for the rows, and runs the on-demand views.
 * Each view's distinct records are judged and decoded once, with the features this request reads.
 */
async function judgeRead(
  store: OnlineStore,
  refs: ResolvedRefs,
  entities: Readonly<Record<string, readonly unknown[]>>,
  now: number,
): Promise<JudgedRead> {
  const n = columnLength(entities);
  const slicer = new TimeSlicer(SLICE_MS);
  const plan = planOf(refs);
  const keyColumns = parseKeyColumns(plan.declared, entities);
  const reads = await readViews(store, plan.groups, keyColumns, n, slicer);
  const judged = new Map<string, JudgedView>();
  // Records read anew each time would only fill the map with entries no read finds again.
  const keep = store.keepsRecords === true;
  for (const { view, features } of plan.views) {
    const { records, recordOf } = reads.get(view.name) as ViewRecords;
    const maxAge = view.onlineMaxAge ?? 0;
    const values: JudgedView['values'] = new Array(records.length);
    for (let d = 0; d < records.length; d++) {
      const r = records[d];
      // Feast's TTL keeps a row exactly `ttl` old (event_ts >= entity_ts - ttl); max age does the same.
      if (r && !(maxAge > 0 && now - r.eventTs > maxAge * 1000))
        values[d] = valuesOf(view, features, r, keep);
      if (slicer.due()) await slicer.turn();
    }
    judged.set(view.name, { recordOf, records, values });
  }
  const storedValue = (row: number, view: string, feature: string): FeatureValue => {
    const j = judged.get(view);
    return j?.values[j.recordOf[row]]?.[feature] ?? null;
  };
  const computed =
    refs.onDemand.length === 0
      ? []
      : Array.from({ length: n }, (_, i) => {
          const request = Object.fromEntries(Object.entries(entities).map(([k, v]) => [k, v[i]]));
          return applyOnDemand(refs.onDemand, request, (view, feature) => storedValue(i, view, feature));
        });
  return { n, plan, keyColumns, judged, computed, slicer };
}

/** A stored feature's status, from its record (none: not found), its values (none: too old), its value. */
const statusOf = (
  record: OnlineRecord | undefined,
  values: Record<string, FeatureValue> | undefined,
  value: FeatureValue,
): FeatureStatus =>
  record === undefined
    ? 'NOT_FOUND'
    : !values
      ? 'OUTSIDE_MAX_AGE'
      : value === null
        ? 'NULL_VALUE'
        : 'PRESENT';

/** A join key's column as answered: int64 keys as numbers where exact. */
const keyOutput = (parsed: readonly (bigint | string)[]): FeatureValue[] =>
  parsed.map((v) => (typeof v === 'bigint' ? int64Out(v) : v));

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
  const { n, plan, keyColumns, judged, computed, slicer } = await judgeRead(store, refs, entities, now);
  const response: OnlineResponse = { featureNames: [...plan.joinKeys], results: [] };
  for (const key of response.featureNames) {
    response.results.push({
      values: keyOutput(keyColumns.get(key) as (bigint | string)[]),
      statuses: new Array(n).fill('PRESENT'),
      eventTimestamps: new Array(n).fill(EPOCH),
    });
  }
  // Each distinct record's event time as text, made once per view read, not per cell (records of
  // one materialization share their time, so eventTimeText keeps its text across requests).
  const texts = new Map<string, string[]>();
  const timeTexts = (view: string, records: JudgedView['records']): string[] => {
    let made = texts.get(view);
    if (!made) {
      made = records.map((r) => (r ? eventTimeText(r.eventTs) : EPOCH));
      texts.set(view, made);
    }
    return made;
  };
  const nowIso = refs.onDemand.length > 0 ? iso(now) : EPOCH;
  for (const f of refs.features) {
    const column: OnlineColumn = {
      values: new Array(n),
      statuses: new Array(n),
      eventTimestamps: new Array(n),
    };
    const j = f.onDemand ? undefined : judged.get(f.view);
    const times = j ? timeTexts(f.view, j.records) : [];
    for (let i = 0; i < n; i++) {
      if (j) {
        const d = j.recordOf[i];
        const values = j.values[d];
        const value = values?.[f.feature] ?? null;
        column.values[i] = value;
        column.statuses[i] = statusOf(j.records[d], values, value);
        column.eventTimestamps[i] = times[d];
      } else {
        const v = computed[i].get(f.view)?.[f.feature] ?? null;
        column.values[i] = v;
        column.statuses[i] = v === null ? 'NULL_VALUE' : 'PRESENT';
        column.eventTimestamps[i] = nowIso;
      }
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

/** Features for scoring: the columns asked for, and per row what was not there fresh. */
export interface ServingFeatures {
  rows: number;
  /** By name, in the order asked: every row's value (null where the store had none fresh). */
  columns: Map<string, FeatureValue[]>;
  /** Per row, the features not PRESENT, with their status; none: all present. */
  missing: Array<Record<string, FeatureStatus> | undefined>;
}

/**
 * The values `readOnlineFeatures` answers for the `names` asked (feature outputs or join keys), as
 * columns for a model, without the Feast response's per-value statuses and timestamps: serving
 * reads only the values and what was missing. A name the refs do not give is NOT_FOUND in every row.
 * @throws KeelError as `readOnlineFeatures`.
 */
export async function readServingFeatures(
  store: OnlineStore,
  refs: ResolvedRefs,
  entities: Readonly<Record<string, readonly unknown[]>>,
  now: number,
  names: readonly string[],
): Promise<ServingFeatures> {
  const { n, plan, keyColumns, judged, computed, slicer } = await judgeRead(store, refs, entities, now);
  const columns = new Map<string, FeatureValue[]>();
  const missing: ServingFeatures['missing'] = new Array(n);
  const miss = (row: number, name: string, status: FeatureStatus) => {
    const absent = missing[row] ?? {};
    absent[name] = status;
    missing[row] = absent;
  };
  for (const name of names) {
    const key = keyColumns.get(name);
    const f = key ? undefined : plan.byOutput.get(name);
    const column: FeatureValue[] = key ? keyOutput(key) : new Array(n);
    columns.set(name, column);
    if (key) continue;
    const j = f && !f.onDemand ? judged.get(f.view) : undefined;
    const feature = f?.feature ?? '';
    for (let i = 0; i < n; i++) {
      if (j) {
        const d = j.recordOf[i];
        const values = j.values[d];
        const value = values?.[feature] ?? null;
        column[i] = value;
        if (value === null) miss(i, name, statusOf(j.records[d], values, value));
      } else {
        const value = f ? (computed[i].get(f.view)?.[f.feature] ?? null) : null;
        column[i] = value;
        if (value === null) miss(i, name, f ? 'NULL_VALUE' : 'NOT_FOUND');
      }
      if (slicer.due()) await slicer.turn();
    }
  }
  return { rows: n, columns, missing };
}
