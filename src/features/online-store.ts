/**
 * @module features/online-store
 * The online store contract (Feast's `online_write_batch` / `online_read`), and the map from
 * config to a backend. Backends load lazily, so ioredis is imported only when Redis is chosen.
 */
import type { OnlineStoreConfig } from '../core/index.js';
import { CachedOnlineStore } from './online-cache.js';

/** One view's stored record for one entity, as the store keeps it. */
export interface OnlineRecord {
  /** The feature row's event timestamp, ms since the epoch. */
  eventTs: number;
  /** When the row was created, ms since the epoch; breaks ties on eventTs. */
  createdTs?: number;
  /** The encoded feature values (see `encodeValues` in values.ts); the store does not read them. */
  payload: string;
}

/** One view of a multi-view read, with the features the caller will decode (see `onlineRead`). */
export interface ViewRead {
  view: string;
  features?: readonly string[];
}

export interface OnlineWriteRow {
  /** The serialized entity key, hex (see `keySerializer` in keys.ts). */
  entityKey: string;
  record: OnlineRecord;
}

/**
 * An online store keeps the latest record per (view, entity key).
 *
 * Contract (tested against every backend by one suite):
 * - `onlineWrite` replaces a stored record only with one whose `eventTs` is later, or equal with
 *   a `createdTs` at least as late (no created timestamp counts as the earliest). It returns how
 *   many rows were written; the others were older than what the store holds. Writing the same rows
 *   twice changes nothing, and replaying an older window never rolls a value back.
 * - `onlineRead` answers one entry per key, in order: the record, or undefined. One query (SQLite)
 *   or one pipelined round trip (Redis) per call, however many keys; large calls do not hold the
 *   event loop (SQLite reads them in a worker thread, Redis in chunks).
 * - The store does not judge age: max-age (OUTSIDE_MAX_AGE) is decided by the reader.
 */
export interface OnlineStore {
  readonly type: OnlineStoreConfig['type'];
  /**
   * Whether a record read is the same object at the next read of it (a cache in front of the
   * store), so that what a reader derives from it (its decoded values) may be kept beside it.
   */
  readonly keepsRecords?: boolean;
  onlineWrite(view: string, rows: readonly OnlineWriteRow[]): Promise<number>;
  /**
   * `features` names the features the caller will decode; a store may then return a payload
   * holding only those (SQLite does), never fewer.
   */
  onlineRead(
    view: string,
    keys: readonly string[],
    features?: readonly string[],
  ): Promise<(OnlineRecord | undefined)[]>;
  /**
   * Reads several views for the same keys at once: per view, what `onlineRead` of it answers. A
   * store implements it where reading together saves work: Redis keeps an entity's views in one
   * hash (one HMGET per entity for every view, not a round trip per view); SQLite reads every
   * view in one read transaction (one WAL read lock, not one per view).
   */
  onlineReadViews?(
    reads: readonly ViewRead[],
    keys: readonly string[],
  ): Promise<(OnlineRecord | undefined)[][]>;
  /**
   * A number that moves whenever another connection (another process) has committed a change to
   * the store, for a cache in front of it to stay coherent (see online-cache.ts). A store that
   * cannot tell (Redis) has none.
   */
  dataVersion?(): number;
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
  /** Keys per read above which SQLite reads in its worker thread (default 512; 0 never, for tests). */
  workerReadThreshold?: number;
}

/** Which version of the stored layout this Keel reads and writes (keys as Feast's EntityKey v3). */
export const ONLINE_FORMAT = 2;

const backends: Record<
  OnlineStoreConfig['type'],
  (c: OnlineStoreConfig, o: OnlineStoreOptions) => Promise<OnlineStore>
> = {
  sqlite: async (c, o) => {
    const config = c as Extract<OnlineStoreConfig, { type: 'sqlite' }>;
    const store = await (await import('./online-sqlite.js')).openSqliteOnlineStore(config, o);
    // Coherent with the file (see online-cache.ts), so on unless keel.yaml turns it off.
    return config.cache === false ? store : new CachedOnlineStore(store, config.cache ?? {});
  },
  redis: async (c, o) => {
    const config = c as Extract<OnlineStoreConfig, { type: 'redis' }>;
    const store = await (await import('./online-redis.js')).openRedisOnlineStore(config, o);
    return config.cache ? new CachedOnlineStore(store, config.cache) : store;
  },
};

/**
 * Opens the configured online store.
 * @throws KeelError TEMPORARILY_UNAVAILABLE when the backend does not answer; INVALID_STATE when
 * it holds records in an older layout (re-materialize: see README, "Upgrading an online store").
 */
export function openOnlineStore(
  config: OnlineStoreConfig,
  options: OnlineStoreOptions = {},
): Promise<OnlineStore> {
  return backends[config.type](config, options);
}
