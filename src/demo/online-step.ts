/**
 * @module demo/online-step
 * Step 5: the latest features go into the online store, one customer's features are read back
 * online and scored by the registered model in ONNX Runtime, and the same features are read
 * offline at the same moment: equal values mean no training-serving skew.
 */
import type { ProgressFn } from '../core/index.js';
import type { FeatureStore, FeatureValue } from '../features/index.js';
import { scoreOnnx } from '../ml/index.js';

export interface OnlineStep {
  customerId: number;
  /** The moment of the read (ISO-8601): the end of the data's last day. */
  at: string;
  materializedRows: number;
  online: Record<string, FeatureValue>;
  offline: Record<string, FeatureValue>;
  /** Feature names whose online and offline values differ (none when there is no skew). */
  mismatches: string[];
  /** The model's churn probability from the online features, and from the offline ones. */
  score: { online: number; offline: number };
  modelUri: string;
}

export interface OnlineInputs {
  /** A store whose clock reads `at`, so freshness is judged as of then. */
  store: FeatureStore;
  at: number;
  /** Materialize from here (ms); the range ends at `at`. */
  from: number;
  customerId: number;
  features: string[];
  modelFile: string;
  modelUri: string;
  onProgress?: ProgressFn;
}

const vector = (row: Record<string, FeatureValue>, names: string[]) => ({
  names,
  columns: names.map((n) => Float64Array.of(row[n] === null ? Number.NaN : Number(row[n]))),
});

/** Materializes, reads one customer online and offline, and scores both reads. */
export async function scoreOnline(inputs: OnlineInputs): Promise<OnlineStep> {
  const { store, customerId, features } = inputs;
  const summaries = await store.materialize({
    start: inputs.from,
    end: inputs.at,
    progress: inputs.onProgress,
  });
  const response = await store.getOnlineFeatures({
    featureService: 'churn_model',
    entities: { customer_id: [customerId] },
  });
  const online = Object.fromEntries(
    response.featureNames.map((name, i) => [name, response.results[i].values[0]]),
  );
  const at = new Date(inputs.at).toISOString();
  const historical = await store.getHistoricalFeatures({
    featureService: 'churn_model',
    entityRows: [{ customer_id: customerId, event_timestamp: at }],
  });
  const offline = historical.rows[0];
  const mismatches = features.filter((f) => online[f] !== offline[f]);
  const [onlineScore] = await scoreOnnx(inputs.modelFile, vector(online, features));
  const [offlineScore] = await scoreOnnx(inputs.modelFile, vector(offline, features));
  return {
    customerId,
    at,
    materializedRows: summaries.reduce((n, s) => n + s.rows, 0),
    online: Object.fromEntries(features.map((f) => [f, online[f]])),
    offline: Object.fromEntries(features.map((f) => [f, offline[f]])),
    mismatches,
    score: { online: onlineScore, offline: offlineScore },
    modelUri: inputs.modelUri,
  };
}
