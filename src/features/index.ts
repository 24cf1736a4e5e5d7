/**
 * @module features
 * The feature store: definitions in TypeScript, a versioned registry, point-in-time retrieval
 * over DuckDB, online stores (SQLite, Redis), materialization, push, and the `FeatureStore` facade.
 */

export * from './definitions.js';
export { exactJsonPieces, parseExactJson, stringifyExact } from './exact-json.js';
export { entityKey, type Int64 } from './keys.js';
export { feastOnlineJson, historicalColumns, onlineRows } from './layout.js';
export type { MaterializeOptions, MaterializeSummary } from './materialize.js';
export type { EntityRowsInput, HistoricalOptions, HistoricalResult } from './offline.js';
export type { FeatureStatus, OnlineColumn, OnlineResponse, ServingFeatures } from './online.js';
export { CachedOnlineStore, type OnlineCacheStats } from './online-cache.js';
export {
  ONLINE_FORMAT,
  type OnlineRecord,
  type OnlineStore,
  type OnlineStoreOptions,
  type OnlineWriteRow,
  openOnlineStore,
} from './online-store.js';
export type { PushOptions, PushSummary, PushTarget } from './push.js';
export { type ApplyChange, type RegistryData, readRegistry, registryPath } from './registry.js';
export { buildRepo, type FeatureRepo, loadFeatureRepo } from './repo.js';
export {
  type FeatureSelection,
  FeatureStore,
  type FeatureStoreOptions,
  type MaterializeRequest,
} from './store.js';
export { toEpochMs } from './time.js';
export { encodeValues } from './values.js';
