/**
 * A prediction log with delayed labels, written through a real PredictionLog, shared by the
 * performance tests of the library and the CLI. Model `churn`, version 1 over two UTC days:
 * day 1 has six labelled rows of both classes and two unlabelled ones; day 2 has four rows all
 * labelled 1 (one class, so no AUC). Version 2 has three labelled rows on day 2. Model `price`
 * has regression labels.
 */
import { PredictionLog } from '../../src/monitoring/index.js';

export const DAY1 = Date.UTC(2024, 4, 1, 10, 0, 0);
export const DAY2 = Date.UTC(2024, 4, 2, 9, 0, 0);

/** Per request: when, model, version, scores and the labels posted later (null: none). */
export const REQUESTS = [
  {
    id: 'd1',
    at: DAY1,
    model: 'churn',
    version: '1',
    scores: [0.9, 0.8, 0.3, 0.6, 0.2, 0.1],
    labels: [1, 0, 0, 1, 0, 1],
  },
  { id: 'd1u', at: DAY1 + 3_600_000, model: 'churn', version: '1', scores: [0.7, 0.4], labels: [null, null] },
  { id: 'd2', at: DAY2, model: 'churn', version: '1', scores: [0.7, 0.4, 0.6, 0.2], labels: [1, 1, 1, 1] },
  { id: 'v2', at: DAY2 + 60_000, model: 'churn', version: '2', scores: [0.2, 0.9, 0.6], labels: [0, 1, 0] },
  { id: 'p1', at: DAY1, model: 'price', version: '1', scores: [10, 20, 31], labels: [12, 18, 30] },
];

export async function writePerformanceLog(home: string): Promise<void> {
  const log = new PredictionLog({ home, flushIntervalMs: 60_000 });
  for (const r of REQUESTS) {
    log.append({
      timestamp: r.at,
      requestId: r.id,
      model: r.model,
      version: r.version,
      canary: false,
      latencyMs: 1,
      scores: r.scores,
      inputs: { columns: ['tenure'], values: new Float32Array(r.scores.length).fill(1) },
    });
    const labels = r.labels.flatMap((label, row) =>
      label === null ? [] : [{ timestamp: r.at + 86_400_000, requestId: r.id, row, label }],
    );
    // A wrong label first: the later one must win.
    if (labels.length > 0)
      log.recordFeedback([{ ...labels[0], timestamp: r.at, label: 1 - labels[0].label }]);
    log.recordFeedback(labels);
  }
  await log.close();
}

/** Labels and scores of the labelled rows of some requests, in logged order. */
export function labelledRows(ids: string[], from = 0, to = Number.POSITIVE_INFINITY) {
  const rows = REQUESTS.filter((r) => ids.includes(r.id)).flatMap((r) =>
    r.scores.flatMap((score, i) => (r.labels[i] === null ? [] : [{ score, label: r.labels[i] as number }])),
  );
  const slice = rows.slice(from, to);
  return { y: slice.map((r) => r.label), p: slice.map((r) => r.score) };
}
