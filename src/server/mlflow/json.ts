/**
 * @module server/mlflow/json
 * Proto3 JSON for values JSON cannot hold: NaN and the infinities travel as strings. Also the
 * shapes several routes share (artifact listings).
 */
import type { ArtifactEntry } from '../../artifacts/index.js';
import type { LoggedModel, Metric, Run } from '../../tracking/index.js';

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

export function loggedModelJson(model: LoggedModel) {
  return { ...model, data: { ...model.data, metrics: model.data.metrics.map(metricJson) } };
}

/** ListArtifacts' response: FileInfo has no size for folders. */
export function listingJson(listed: { root_uri: string; files: ArtifactEntry[] }) {
  return {
    root_uri: listed.root_uri,
    files: listed.files.map((f) => ({
      path: f.path,
      is_dir: f.isDir,
      ...(f.isDir ? {} : { file_size: f.fileSize }),
    })),
  };
}
