/**
 * @module features/layout
 * Row and column layouts of retrieval results: online answers come column-major (Feast's wire
 * shape) and historical ones row by row; each converts to the other for callers that want it.
 */
import type { FeatureValue } from './definitions.js';
import type { HistoricalResult } from './offline.js';
import type { OnlineResponse } from './online.js';

/** The result column by column (Arrow's layout): column name to its values, in row order. */
export function historicalColumns(result: HistoricalResult): Record<string, FeatureValue[]> {
  return Object.fromEntries(result.columns.map((c) => [c, result.rows.map((r) => r[c])]));
}

/** An online answer row by row: one object per entity row, feature name to value. */
export function onlineRows(response: OnlineResponse): Record<string, FeatureValue>[] {
  const n = response.results[0]?.values.length ?? 0;
  return Array.from({ length: n }, (_, i) =>
    Object.fromEntries(response.featureNames.map((name, c) => [name, response.results[c].values[i]])),
  );
}

/**
 * The answer in the Feast feature server's JSON shape (snake_case), which the HTTP route and the
 * CLI's `--json` both print: `{metadata: {feature_names}, results: [{values, statuses, event_timestamps}]}`.
 */
export function feastOnlineJson(response: OnlineResponse): Record<string, unknown> {
  const metadata: Record<string, unknown> = { feature_names: response.featureNames };
  if (response.featureViewMetadata) metadata.feature_view_metadata = response.featureViewMetadata;
  return {
    metadata,
    results: response.results.map((c) => ({
      values: c.values,
      statuses: c.statuses,
      event_timestamps: c.eventTimestamps,
    })),
  };
}
