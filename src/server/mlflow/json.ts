/**
 * @module server/mlflow/json
 * Proto3 JSON for values JSON cannot hold: NaN and the infinities travel as strings.
 */
import type { Metric, Run } from '../../tracking/index.js';

export function doubleJson(v: number): number | string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return v;
}

export const metricJson = <M extends Metric>(m: M) => ({ ...m, value: doubleJson(m.value) });

export function runJson(run: Run) {
  return { ...run, data: { ...run.data, metrics: run.data.metrics.map(metricJson) } };
}
