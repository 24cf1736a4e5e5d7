/**
 * Requests that would succeed on each route: path parameters naming objects that exist, and one
 * body (or query) holding a valid value for every field Keel's routes take. A refused request
 * built from these shows a real refusal, not a 400 for a missing field.
 */
import type { RouteEntry } from '../../src/server/route-table.js';
import { day } from '../helpers/feature-repo.js';
import type { World } from './world.js';

/** The route's URL with its parameters filled (`:name` -> churn, `*` -> a file path). */
export function fillPath(route: RouteEntry, ids: World['ids']): string {
  const values: Record<string, string> = {
    name: 'churn',
    version: '1',
    model_id: ids.loggedModelId,
    webhook_id: ids.webhookId,
    tag_key: 't',
  };
  return route.url
    .replace(/:(\w+)/g, (_, p: string) => values[p] ?? 'x')
    .replace(/\*$/, `${ids.experimentId}/${ids.runId}/artifacts/model/model.onnx`);
}

/** One body with a valid value for every field, so that any write route would apply it. */
export function kitchenSink(ids: World['ids']): Record<string, unknown> {
  return {
    name: 'churn',
    new_name: 'churn-renamed',
    version: '1',
    stage: 'Archived',
    archive_existing_versions: true,
    alias: 'challenger',
    source: `runs:/${ids.runId}/model`,
    description: 'changed',
    experiment_id: ids.experimentId,
    experiment_ids: [ids.experimentId],
    run_id: ids.runId,
    model_id: ids.loggedModelId,
    key: 't',
    value: 'changed',
    timestamp: 1,
    step: 1,
    metrics: [{ key: 'm', value: 1, timestamp: 1, step: 0 }],
    params: [{ key: 'q', value: '2' }],
    tags: [{ key: 'u', value: 'w' }],
    status: 'FINISHED',
    end_time: 2,
    model_json: '{}',
    request_id: 1,
    reason: 'because',
    url: 'http://127.0.0.1:9/other',
    events: ['model_version.created'],
    start_ts: day(-1),
    end_ts: day(21),
    push_source_name: 'p',
    df: { customer_id: [1] },
    features: ['activity:orders'],
    entities: { customer_id: [1] },
  };
}

/** The kitchen sink as a query string, lists as repeated keys. */
export function sinkQuery(ids: World['ids']): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(kitchenSink(ids))) {
    if (Array.isArray(v))
      for (const item of v) q.append(k, typeof item === 'string' ? item : JSON.stringify(item));
    else if (typeof v !== 'object') q.append(k, String(v));
  }
  return q.toString();
}
