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
