/**
 * @module features/definitions
 * Feature definitions written in TypeScript: entities, sources, feature views, on-demand views and
 * feature services. Each `define*` returns a plain, tagged object, so a feature repo is just a
 * module that exports them, and the schema's types flow into the transform functions.
 */
import { invalid } from '../core/index.js';

/**
 * The value types a feature or key may have. int64 values come back as JS numbers when a number
 * holds them exactly (|v| <= 2^53 - 1) and as BigInts beyond, so no digit is ever lost.
 */
export type ValueType = 'int64' | 'float64' | 'string' | 'bool';

/** The JS type of a value of type `T`. */
export type ValueOf<T extends ValueType> = T extends 'int64' | 'float64'
  ? number
  : T extends 'string'
    ? string
    : boolean;

/** A feature value as Keel hands it out: null when absent or out of range; big int64s as BigInt. */
export type FeatureValue = number | bigint | string | boolean | null;

export type Schema = Record<string, ValueType>;

const INT64_LIMIT = 2n ** 63n;

/**
 * Whether `value` is a valid value of `type` (null always is). int64 takes safe integers and
 * in-range BigInts; float64 takes any number (NaN included, as a double column may hold it).
 */
export function fitsType(type: ValueType, value: unknown): value is FeatureValue {
  if (value === null) return true;
  if (type === 'string') return typeof value === 'string';
  if (type === 'bool') return typeof value === 'boolean';
  if (type === 'float64') return typeof value === 'number';
  if (typeof value === 'bigint') return value >= -INT64_LIMIT && value < INT64_LIMIT;
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/** A row typed by a schema; every feature may be null. */
export type RowOf<S extends Schema> = { [K in keyof S]: ValueOf<S[K]> | null };

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void
  ? I
  : never;

/** The row an on-demand transform sees: request fields plus every source view's features. */
export type OnDemandRow<R extends Schema, V extends readonly FeatureView[]> = RowOf<R> &
  UnionToIntersection<RowOf<V[number]['schema']>>;

export interface Entity {
  readonly kind: 'entity';
  readonly name: string;
  /** The column that identifies the entity in sources and entity rows. */
  readonly joinKey: string;
  readonly valueType: 'int64' | 'string';
  readonly description?: string;
}

export interface FileSource {
  readonly kind: 'file';
  /**
   * A Parquet or CSV (optionally gzipped) file or glob. `{home}` is replaced by Keel's home folder
   * and a relative path is resolved against the project root.
   */
  readonly path: string;
  readonly format: 'parquet' | 'csv';
  readonly timestampField: string;
  /** Breaks ties between rows with the same timestamp: the latest created row wins. */
  readonly createdTimestampField?: string;
}

/** A batch transformation: DuckDB SQL over named inputs, producing a feature view's rows. */
export interface SqlSource {
  readonly kind: 'sql';
  /** The query; each key of `inputs` is a table name it may use. */
  readonly sql: string;
  readonly inputs: Readonly<Record<string, FileSource>>;
  readonly timestampField: string;
  readonly createdTimestampField?: string;
}

export type Source = FileSource | SqlSource;

/**
 * A push source (Feast's `PushSource`): a name that `/push` writes to, feeding every feature view
 * declared over it. Its batch source is where offline rows live: views read it for training and
 * materialization, and an offline push appends a Parquet file to it (so it must read a folder of
 * Parquet files, e.g. `data/driver_stats/*.parquet`).
 */
export interface PushSource {
  readonly kind: 'push';
  readonly name: string;
  readonly batchSource: Source;
}

export interface FeatureView<S extends Schema = Schema> {
  readonly kind: 'featureView';
  readonly name: string;
  readonly entities: readonly Entity[];
  readonly schema: S;
  /** Where the view's rows are read from (offline and for materialization). */
  readonly source: Source;
  /** The push source that feeds the view, when it was declared over one. */
  readonly pushSource?: string;
  /**
   * Offline lookback in seconds: a feature row is joined when `event_ts - ttl <= row_ts <= event_ts`
   * (the boundary included, as Feast does). 0 means unlimited.
   */
  readonly ttl: number;
  /**
   * Online max age in seconds, enforced at read time: a record older than this is OUTSIDE_MAX_AGE
   * (exactly this old still counts, as with `ttl`). Defaults to `ttl`.
   */
  readonly onlineMaxAge: number;
  readonly online: boolean;
  readonly offline: boolean;
  readonly owner?: string;
  readonly description?: string;
  readonly tags: Readonly<Record<string, string>>;
}

export interface OnDemandFeatureView<R extends Schema = Schema, O extends Schema = Schema> {
  readonly kind: 'onDemandFeatureView';
  readonly name: string;
  /** Fields the caller sends with each request (and each entity row at training time). */
  readonly request: R;
  /** Stored features it reads, as `view:feature` references. */
  readonly inputs: readonly string[];
  readonly schema: O;
  /**
   * Runs per row, the same at training and at serving. Its row holds the request fields and the
   * input features keyed by feature name. (Method syntax keeps typed transforms assignable here.)
   */
  transform(row: Record<string, FeatureValue>): RowOf<O>;
  readonly description?: string;
  readonly tags: Readonly<Record<string, string>>;
}

export interface FeatureService {
  readonly kind: 'featureService';
  readonly name: string;
  /** Feature references: `view:feature`, or `view` for all of its features. */
  readonly features: readonly string[];
  readonly description?: string;
  readonly owner?: string;
  readonly tags: Readonly<Record<string, string>>;
}

export type Definition = Entity | FeatureView | OnDemandFeatureView | FeatureService;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function checkName(what: string, name: string): void {
  if (!NAME.test(name)) throw invalid(`${what} name '${name}' must match ${NAME}`);
}

/** Parses a duration: seconds as a number, or a string such as `90s`, `12h`, `30d`, `2w`. */
export function parseDuration(value: number | string, what: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
  } else {
    const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(value.trim());
    if (m) return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[m[2] as 's'];
  }
  throw invalid(`${what} must be a non-negative number of seconds or like '30d', got '${value}'`);
}

/**
 * Declares an entity (what features are about, e.g. a customer).
 * @throws KeelError INVALID_PARAMETER_VALUE for a malformed name or join key.
 */
export function defineEntity(spec: {
  name: string;
  joinKey: string;
  valueType?: 'int64' | 'string';
  description?: string;
}): Entity {
  checkName('entity', spec.name);
  checkName(`entity ${spec.name} join key`, spec.joinKey);
  return { kind: 'entity', valueType: 'int64', ...spec };
}

/** Declares a Parquet or CSV source; the format follows the extension unless given. */
export function fileSource(spec: {
  path: string;
  timestampField: string;
  createdTimestampField?: string;
  format?: 'parquet' | 'csv';
}): FileSource {
  const format = spec.format ?? (/\.parquet$/i.test(spec.path) ? 'parquet' : 'csv');
  return { kind: 'file', ...spec, format };
}

/** Declares a push source over the batch source where its offline rows live. */
export function definePushSource(spec: { name: string; batchSource: Source }): PushSource {
  checkName('push source', spec.name);
  return { kind: 'push', name: spec.name, batchSource: spec.batchSource };
}

/** Declares a batch transformation in DuckDB SQL over named file inputs. */
export function sqlSource(spec: {
  sql: string;
  inputs: Record<string, FileSource>;
  timestampField: string;
  createdTimestampField?: string;
}): SqlSource {
  for (const name of Object.keys(spec.inputs)) checkName('sql source input', name);
  return { kind: 'sql', ...spec };
}

/**
 * Declares a feature view: features of some entities, read from a source (or from a push
 * source's batch source, which then also feeds it through `/push`).
 * @throws KeelError INVALID_PARAMETER_VALUE for bad names, an empty schema, a feature named like a
 * join key, or a malformed ttl.
 */
export function defineFeatureView<S extends Schema>(spec: {
  name: string;
  entities: Entity[];
  schema: S;
  source: Source | PushSource;
  ttl?: number | string;
  onlineMaxAge?: number | string;
  online?: boolean;
  offline?: boolean;
  owner?: string;
  description?: string;
  tags?: Record<string, string>;
}): FeatureView<S> {
  checkName('feature view', spec.name);
  const features = Object.keys(spec.schema);
  if (features.length === 0) throw invalid(`feature view ${spec.name} declares no features`);
  if (spec.entities.length === 0) throw invalid(`feature view ${spec.name} declares no entities`);
  for (const f of features) checkName(`feature view ${spec.name} feature`, f);
  const keys = spec.entities.map((e) => e.joinKey);
  const clash = features.find((f) => keys.includes(f));
  if (clash) throw invalid(`feature view ${spec.name}: feature '${clash}' has a join key's name`);
  const ttl = parseDuration(spec.ttl ?? 0, `feature view ${spec.name} ttl`);
  return {
    kind: 'featureView',
    name: spec.name,
    entities: spec.entities,
    schema: spec.schema,
    source: spec.source.kind === 'push' ? spec.source.batchSource : spec.source,
    ...(spec.source.kind === 'push' ? { pushSource: spec.source.name } : {}),
    ttl,
    onlineMaxAge: parseDuration(spec.onlineMaxAge ?? ttl, `feature view ${spec.name} onlineMaxAge`),
    online: spec.online ?? true,
    offline: spec.offline ?? true,
    owner: spec.owner,
    description: spec.description,
    tags: spec.tags ?? {},
  };
}

/**
 * Declares an on-demand feature view: a function over request fields and stored features.
 * `sources` lists the views it reads; `inputs` picks their features (default: all of them).
 */
export function defineOnDemandFeatureView<
  R extends Schema,
  O extends Schema,
  V extends readonly FeatureView[],
>(spec: {
  name: string;
  request: R;
  sources: V;
  schema: O;
  transform: (row: OnDemandRow<R, V>) => RowOf<O>;
  description?: string;
  tags?: Record<string, string>;
}): OnDemandFeatureView<R, O> {
  checkName('on-demand feature view', spec.name);
  for (const f of [...Object.keys(spec.request), ...Object.keys(spec.schema)]) {
    checkName(`on-demand feature view ${spec.name} field`, f);
  }
  const inputs = spec.sources.flatMap((v) => Object.keys(v.schema).map((f) => `${v.name}:${f}`));
  return {
    kind: 'onDemandFeatureView',
    name: spec.name,
    request: spec.request,
    inputs,
    schema: spec.schema,
    transform: spec.transform,
    description: spec.description,
    tags: spec.tags ?? {},
  };
}

/** Declares a feature service: the named set of features one model uses. */
export function defineFeatureService(spec: {
  name: string;
  features: Array<string | FeatureView | OnDemandFeatureView>;
  description?: string;
  owner?: string;
  tags?: Record<string, string>;
}): FeatureService {
  checkName('feature service', spec.name);
  if (spec.features.length === 0) throw invalid(`feature service ${spec.name} lists no features`);
  return {
    kind: 'featureService',
    name: spec.name,
    features: spec.features.map((f) => (typeof f === 'string' ? f : f.name)),
    description: spec.description,
    owner: spec.owner,
    tags: spec.tags ?? {},
  };
}
