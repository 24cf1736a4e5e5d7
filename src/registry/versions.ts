/**
 * @module registry/versions
 * Model versions: register (the ONNX file is validated, its signature read, the file copied to
 * `models/<name>/<version>/` in the artifact store, and its lineage taken from the run), get,
 * describe, delete, search and tags. Versions are numbered 1, 2, ... per model, under the model's
 * row lock, so concurrent registrations never share a number.
 */
import { basename } from 'node:path';
import { KeelError } from '../core/index.js';
import type { SqlExecutor } from '../storage/index.js';
import { decodePageToken, type KeyValue, type Page, pageOf, type Run } from '../tracking/index.js';
import {
  modelNotFound,
  type RegistryContext,
  upsertTag,
  validateRegistryTag,
  versionNotFound,
} from './context.js';
import { syncProductionAlias } from './lifecycle.js';
import type { SearchOptions } from './models.js';
import { parseVersion, validateModelName } from './names.js';
import { hydrateVersions, lockModel, packageOf, type VersionRow } from './rows.js';
import { compileFilter, compileOrderBy, VERSION_SEARCH, validateMax } from './search.js';
import { readSignature } from './signature.js';
import { lineageOf, resolveSource } from './source.js';
import type { Lineage, ModelPackage, ModelVersion } from './types.js';

export interface CreateVersionInput {
  name: string;
  /** `runs:/<run_id>/<path>`, `mlflow-artifacts:/<path>` or a local ONNX file (an upload). */
  source: string;
  runId?: string;
  runLink?: string;
  description?: string;
  tags?: KeyValue[];
  /** Feature references (`view:feature`) the model reads from the feature store. */
  features?: string[];
  /** Lineage facts the run does not hold (they win over the run's). */
  lineage?: Partial<Lineage>;
}

/** Where a version's files live in the artifact store. */
export const versionFolder = (name: string, version: number | string): string => `models/${name}/${version}`;

export class VersionStore {
  constructor(private readonly ctx: RegistryContext) {}

  /**
   * Registers a new version of an existing model.
   * @throws INVALID_PARAMETER_VALUE naming the file when it is not a valid ONNX model;
   *   RESOURCE_DOES_NOT_EXIST for a missing model or run.
   */
  async create(input: CreateVersionInput): Promise<ModelVersion> {
    const { name } = input;
    this.ctx.require('write', `register a version of '${name}'`);
    validateModelName(name);
    if (typeof input.source !== 'string' || input.source === '') {
      throw new KeelError('INVALID_PARAMETER_VALUE', `Model version of '${name}' needs a source`);
    }
    for (const t of input.tags ?? []) validateRegistryTag(t.key, t.value);
    const resolved = await resolveSource(input.source, this.ctx.tracking, this.ctx.artifacts);
    const signature = await readSignature(resolved.file);
    const runId = input.runId || resolved.runId;
    const run: Run | undefined = runId ? await this.ctx.tracking.runs.get(runId) : undefined;
    const lineage = lineageOf(run, input.lineage);
    const now = this.ctx.clock.now();
    let written: string | undefined;
    try {
      const version = await this.ctx.db.transaction(async (tx) => {
        if (!(await lockModel(tx, name, now))) throw modelNotFound(name);
        const max = await tx.get<{ v: number | null }>(
          'SELECT MAX(version) AS v FROM model_versions WHERE name = ?',
          [name],
        );
        const v = Number(max?.v ?? 0) + 1;
        const modelPath = `${versionFolder(name, v)}/${basename(resolved.file)}`;
        written = versionFolder(name, v);
        await this.ctx.artifacts.putLocal(resolved.file, modelPath);
        await tx.run(
          `INSERT INTO model_versions (name, version, creation_timestamp, last_updated_timestamp, user_id, current_stage,
             stage_since, description, source, run_id, run_link, status, status_message, model_path, signature, features, lineage)
           VALUES (?, ?, ?, ?, ?, 'None', ?, ?, ?, ?, ?, 'READY', '', ?, ?, ?, ?)`,
          [
            name,
            v,
            now,
            now,
            this.ctx.actor.user,
            now,
            input.description ?? '',
            input.source,
            runId ?? '',
            input.runLink ?? '',
            modelPath,
            JSON.stringify(signature),
            JSON.stringify(input.features ?? []),
            JSON.stringify(lineage),
          ],
        );
        for (const t of input.tags ?? [])
          await upsertTag(tx, 'model_version_tags', { name, version: v }, t.key, t.value);
        await this.ctx.audit.append(
          {
            ts: now,
            actor: this.ctx.actor.user,
            action: 'register',
            outcome: 'applied',
            name,
            version: String(v),
            to: input.source,
            reason: '',
          },
          tx,
        );
        return v;
      });
      written = undefined;
      const created = await this.get(name, version);
      this.ctx.events.emit('model_version.created', { ...created });
      return created;
    } finally {
      // The transaction failed after the copy: remove the orphaned files.
      if (written) await this.ctx.artifacts.delete(written).catch(() => {});
    }
  }

  async row(name: string, version: number | string, exec: SqlExecutor = this.ctx.db): Promise<VersionRow> {
    const v = parseVersion(version);
    const row = await exec.get<VersionRow>('SELECT * FROM model_versions WHERE name = ? AND version = ?', [
      name,
      v,
    ]);
    if (!row) throw versionNotFound(name, v);
    return row;
  }

  /** @throws RESOURCE_DOES_NOT_EXIST, INVALID_PARAMETER_VALUE for a non-numeric version. */
  async get(name: string, version: number | string, exec: SqlExecutor = this.ctx.db): Promise<ModelVersion> {
    return (await hydrateVersions(exec, [await this.row(name, version, exec)]))[0];
  }

  /** The version's Keel package: ONNX path, signature, features, lineage, benchmark, canary. */
  async getPackage(name: string, version: number | string): Promise<ModelPackage> {
    return packageOf(await this.row(name, version));
  }

  /** `mlflow-artifacts:/models/<name>/<version>`: the folder holding the version's files. */
  async downloadUri(name: string, version: number | string): Promise<string> {
    const row = await this.row(name, version);
    return `mlflow-artifacts:/${versionFolder(row.name, row.version)}`;
  }

  /** MLflow's search: default order newest version first per model. */
  async search(options: SearchOptions = {}): Promise<Page<ModelVersion>> {
    const max = validateMax(options.maxResults, 200_000, 200_000);
    const offset = decodePageToken(options.pageToken);
    const where = compileFilter(VERSION_SEARCH, options.filter);
    const order = compileOrderBy(VERSION_SEARCH, options.orderBy, 'name ASC');
    const rows = await this.ctx.db.all<VersionRow>(
      `SELECT v.* FROM model_versions v ${where.sql ? `WHERE ${where.sql}` : ''} ORDER BY ${order} LIMIT ? OFFSET ?`,
      [...where.params, max + 1, offset],
    );
    const page = pageOf(rows, offset, max);
    return { items: await hydrateVersions(this.ctx.db, page.items), next_page_token: page.next_page_token };
  }

  /** Runs `fn` under the model's lock after checking the version exists. */
  async change<T>(
    name: string,
    version: number | string,
    what: string,
    fn: (tx: SqlExecutor, v: number) => Promise<T>,
  ): Promise<T> {
    this.ctx.require('write', `${what} version ${version} of '${name}'`);
    const v = parseVersion(version);
    return this.ctx.db.transaction(async (tx) => {
      const now = this.ctx.clock.now();
      if (!(await lockModel(tx, name, now))) throw modelNotFound(name);
      const { changes } = await tx.run(
        'UPDATE model_versions SET last_updated_timestamp = ? WHERE name = ? AND version = ?',
        [now, name, v],
      );
      if (changes === 0) throw versionNotFound(name, v);
      return fn(tx, v);
    });
  }

  async updateDescription(
    name: string,
    version: number | string,
    description: string,
  ): Promise<ModelVersion> {
    await this.change(name, version, 'update', (tx, v) =>
      tx.run('UPDATE model_versions SET description = ? WHERE name = ? AND version = ?', [
        description,
        name,
        v,
      ]),
    );
    return this.get(name, version);
  }

  /** Deletes the version, its tags and the aliases pointing at it. */
  async delete(name: string, version: number | string): Promise<void> {
    await this.change(name, version, 'delete', async (tx, v) => {
      await tx.run('DELETE FROM model_versions WHERE name = ? AND version = ?', [name, v]);
      await syncProductionAlias(tx, name, this.ctx.productionAlias);
      await this.ctx.audit.append(
        {
          ts: this.ctx.clock.now(),
          actor: this.ctx.actor.user,
          action: 'delete_version',
          outcome: 'applied',
          name,
          version: String(v),
          reason: '',
        },
        tx,
      );
    });
  }

  async setTag(name: string, version: number | string, key: string, value: string): Promise<void> {
    validateRegistryTag(key, value);
    await this.change(name, version, 'tag', (tx, v) =>
      upsertTag(tx, 'model_version_tags', { name, version: v }, key, value),
    );
    this.ctx.events.emit('model_version_tag.set', { name, version: String(version), key, value });
  }

  /** @throws RESOURCE_DOES_NOT_EXIST when the version or the tag is missing. */
  async deleteTag(name: string, version: number | string, key: string): Promise<void> {
    await this.change(name, version, 'untag', async (tx, v) => {
      const { changes } = await tx.run(
        'DELETE FROM model_version_tags WHERE name = ? AND version = ? AND key = ?',
        [name, v, key],
      );
      if (changes === 0)
        throw new KeelError('RESOURCE_DOES_NOT_EXIST', `No tag '${key}' on version ${v} of '${name}'`);
    });
    this.ctx.events.emit('model_version_tag.deleted', { name, version: String(version), key });
  }

  /** Stores a JSON column (`benchmark`, `canary`) on the version. */
  async setRecord(
    name: string,
    version: number | string,
    column: 'benchmark' | 'canary',
    value: unknown,
  ): Promise<void> {
    await this.change(name, version, `record ${column} of`, (tx, v) =>
      tx.run(`UPDATE model_versions SET ${column} = ? WHERE name = ? AND version = ?`, [
        JSON.stringify(value),
        name,
        v,
      ]),
    );
  }
}
