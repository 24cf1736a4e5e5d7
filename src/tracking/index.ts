/**
 * @module tracking
 * Experiment tracking: experiments, runs, params, metrics, tags, dataset inputs, artifacts, MLflow
 * 3's logged models and the environment a run ran in, with MLflow's search language and an
 * in-process or HTTP client.
 */
export type * from './client.js';
export { ENV_TAGS, environmentTags, LINEAGE_TAGS, lockfileHash } from './environment.js';
export { DEFAULT_EXPERIMENT_ID, ExperimentStore, parseExperimentId } from './experiments.js';
export { type Clause, type OrderBy, parseFilter, parseOrderBy } from './filter.js';
export { DEFAULT_RETRY, type RetryOptions } from './http-retry.js';
export { LIMITS, validateRunId } from './limits.js';
export {
  type CreateLoggedModelOptions,
  LoggedModelStore,
  type SearchLoggedModelsOptions,
} from './logged-models.js';
export { Client, httpTrackingClient, localTrackingClient, openTrackingClient } from './open-client.js';
export { decodePageToken, encodePageToken, pageOf } from './paging.js';
export { parseStatus, RUN_NAME_TAG, RunStore } from './runs.js';
export { trackingMigrations } from './schema.js';
export type { DatasetRef, LoggedModelOrder } from './search-sql.js';
export { artifactUriToPath, Tracking } from './tracking.js';
export type { TrackingTransport } from './transport.js';
export type * from './types.js';
