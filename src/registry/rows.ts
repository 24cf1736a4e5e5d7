/**
 * @module registry/rows
 * Table rows and their conversion to the MLflow-shaped entities, with tags and aliases loaded in
 * one query per table for a whole page of versions.
 */
import type { SqlExecutor } from '../storage/index.js';
import type { ModelPackage, ModelVersion, Stage, VersionStatus } from './types.js';

export interface VersionRow {
  name: string;
  version: number;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id: string;
  current_stage: Stage;
  stage_since: number;
  description: string;
  source: string;
  run_id: string;
  run_link: string;
  status: VersionStatus;
  status_message: string;
  model_path: string;
  signature: string;
  features: string;
  lineage: string;
  benchmark: string | null;
  canary: string | null;
  /** JSON: the sha256 of every file of the version's folder, by path (registry/files). */
  files: string | null;
  /** The version's folder in the store; null for versions registered before 220 (the model file's). */
  folder: string | null;
  /** JSON list of the MLmodel's flavors. */
  flavors: string;
  /** 1 when Keel can serve the version (`model_path` is its ONNX file, '' otherwise). */
  servable: number;
  /** Why Keel cannot serve it; '' when it can. */
  not_servable: string;
  /** The MLflow 3 logged model it was registered from; ''. */
  model_id: string;
}

/** The folder holding a version's files. */
export const versionDir = (r: Pick<VersionRow, 'folder' | 'model_path'>): string =>
  r.folder ?? r.model_path.slice(0, r.model_path.lastIndexOf('/'));

export interface ModelRow {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  description: string;
}

const inList = (n: number) => new Array(n).fill('?').join(', ');

/** Converts version rows (all of one or more models) to ModelVersions, keeping their order. */
export async function hydrateVersions(exec: SqlExecutor, rows: VersionRow[]): Promise<ModelVersion[]> {
  if (rows.length === 0) return [];
  const names = [...new Set(rows.map((r) => r.name))];
  const tags = await exec.all<{ name: string; version: number; key: string; value: string }>(
    `SELECT name, version, key, value FROM model_version_tags WHERE name IN (${inList(names.length)}) ORDER BY key`,
    names,
  );
  const aliases = await exec.all<{ name: string; version: number; alias: string }>(
    `SELECT name, version, alias FROM registered_model_aliases WHERE name IN (${inList(names.length)}) ORDER BY alias`,
    names,
  );
  const of = <T extends { name: string; version: number }>(list: T[], r: VersionRow) =>
    list.filter((x) => x.name === r.name && Number(x.version) === Number(r.version));
  return rows.map((r) => ({
    name: r.name,
    version: String(r.version),
    creation_timestamp: r.creation_timestamp,
    last_updated_timestamp: r.last_updated_timestamp,
    user_id: r.user_id,
    current_stage: r.current_stage,
    description: r.description,
    source: r.source,
    run_id: r.run_id,
    status: r.status,
    status_message: r.status_message,
    tags: of(tags, r).map((t) => ({ key: t.key, value: t.value })),
    run_link: r.run_link,
    aliases: of(aliases, r).map((a) => a.alias),
    ...(r.model_id ? { model_id: r.model_id } : {}),
  }));
}

export function packageOf(r: VersionRow): ModelPackage {
  return {
    name: r.name,
    version: String(r.version),
    folder: versionDir(r),
    model_path: Number(r.servable) === 1 ? r.model_path : null,
    servable: Number(r.servable) === 1,
    ...(r.not_servable ? { not_servable: r.not_servable } : {}),
    flavors: JSON.parse(r.flavors ?? '[]'),
    signature: JSON.parse(r.signature),
    features: JSON.parse(r.features),
    lineage: JSON.parse(r.lineage),
    ...(r.benchmark ? { benchmark: JSON.parse(r.benchmark) } : {}),
    ...(r.canary ? { canary: JSON.parse(r.canary) } : {}),
    ...(r.files ? { files: JSON.parse(r.files) } : {}),
    stage_since: r.stage_since,
  };
}

/** Locks the model's row for the rest of the transaction and bumps its update time; false when absent. */
export async function lockModel(tx: SqlExecutor, name: string, now: number): Promise<boolean> {
  // An UPDATE takes PostgreSQL's row lock, so concurrent writers to one model take turns (SQLite
  // already serializes writers with BEGIN IMMEDIATE).
  const { changes } = await tx.run('UPDATE registered_models SET last_updated_timestamp = ? WHERE name = ?', [
    now,
    name,
  ]);
  return changes > 0;
}
