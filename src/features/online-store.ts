/**
 * @module features/online-store
 * The online store contract (Feast's `online_write_batch` / `online_read`), and the map from
 * config to a backend. Backends load lazily, so ioredis is imported only when Redis is chosen.
 */
import type { OnlineStoreConfig } from '../core/index.js';
import { invalid } from '../core/index.js';
import type { Entity, FeatureValue } from './definitions.js';

/** One view's stored values for one entity. */
export interface OnlineRecord {
  /** The feature row's event timestamp, ms since the epoch. */
  eventTs: number;
  /** When the row was created, ms since the epoch; breaks ties on eventTs. */
  createdTs?: number;
  values: Record<string, FeatureValue>;
}

export interface OnlineWriteRow {
  /** From `entityKey()`: the view's join keys and their values. */
  entityKey: string;
  record: OnlineRecord;
}

export interface OnlineReadRequest {
  entityKey: string;
  views: readonly string[];
}

/**
 * An online store keeps the latest record per (entity key, view).
 *
 * Contract (tested against every backend by one suite):
 * - `onlineWrite` replaces a stored record only with one whose `eventTs` is later, or equal with
 *   a `createdTs` at least as late. Writing the same rows twice changes nothing, and replaying an
 *   older window never rolls a value back.
 * - `onlineRead` answers one entry per request, in order, and within it one entry per view, in
 *   order: the record, or undefined when there is none. All of it in one round trip.
 * - The store does not judge age: max-age (OUTSIDE_MAX_AGE) is decided by the reader.
 */
export interface OnlineStore {
  readonly type: OnlineStoreConfig['type'];
  onlineWrite(view: string, rows: readonly OnlineWriteRow[]): Promise<void>;
  onlineRead(requests: readonly OnlineReadRequest[]): Promise<(OnlineRecord | undefined)[][]>;
  /** Removes every record of a view. */
  deleteView(view: string): Promise<void>;
  /**
   * Resolves when the store answers a trivial request (readiness checks).
   * @throws KeelError TEMPORARILY_UNAVAILABLE when it does not.
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OnlineStoreOptions {
  /** Redis only: a prefix for every key, e.g. a test run's own namespace. Default `keel:`. */
  keyPrefix?: string;
  /** Redis only: how long an open circuit fails every call before it tries Redis again (ms, default 1000). */
  circuitCooldownMs?: number;
}

const backends: Record<
  OnlineStoreConfig['type'],
  (c: OnlineStoreConfig, o: OnlineStoreOptions) => Promise<OnlineStore>
> = {
  sqlite: async (c, o) =>
    (await import('./online-sqlite.js')).openSqliteOnlineStore(c as { path: string }, o),
  redis: async (c, o) =>
    (await import('./online-redis.js')).openRedisOnlineStore(c as { url: string; timeoutMs?: number }, o),
};

/**
 * Opens the configured online store.
 * @throws KeelError TEMPORARILY_UNAVAILABLE when the backend does not answer.
 */
export function openOnlineStore(
  config: OnlineStoreConfig,
  options: OnlineStoreOptions = {},
): Promise<OnlineStore> {
  return backends[config.type](config, options);
}

const byJoinKey = (entities: readonly Entity[]) =>
  [...entities].sort((a, b) => (a.joinKey < b.joinKey ? -1 : 1));

/**
 * The key of an entity for a view: `customer_id=17850`, keys sorted and joined by `|`. int64 keys
 * are normalised, so `17850`, `"17850"` and `17850.0` name the same customer.
 * @throws KeelError INVALID_PARAMETER_VALUE for a missing key or a non-integer int64 key.
 */
export function entityKey(entities: readonly Entity[], row: Readonly<Record<string, unknown>>): string {
  return byJoinKey(entities)
    .map((e) => {
      const raw = row[e.joinKey];
      if (raw === undefined || raw === null || raw === '')
        throw invalid(`entity key '${e.joinKey}' is missing`);
      if (e.valueType === 'string') return `${e.joinKey}=${String(raw)}`;
      const n = typeof raw === 'number' ? raw : Number(raw);
      if (!Number.isInteger(n))
        throw invalid(`entity key '${e.joinKey}' must be an integer, got ${JSON.stringify(raw)}`);
      return `${e.joinKey}=${n}`;
    })
    .join('|');
}

/**
 * The same key as a DuckDB SQL expression over the join key columns. Materialization sorts by it,
 * so the online store receives keys in its own index order (4x faster SQLite writes than random).
 */
export function entityKeySql(entities: readonly Entity[], column: (name: string) => string): string {
  return byJoinKey(entities)
    .map((e) => `'${e.joinKey}=' || CAST(${column(e.joinKey)} AS VARCHAR)`)
    .join(" || '|' || ");
}
