/**
 * @module registry/versions
 * Model versions: register (the source, an MLflow model folder or an ONNX file, is copied to a
 * staging folder, judged there (registry/contents: its flavors, and whether Keel can serve it),
 * the sha256 of its files recorded, the folder moved to `models/<name>/<version>/` in the artifact
 * store, and its lineage taken from the run), get, describe, delete, search and tags. Versions are numbered 1, 2, ... per model, under the model's
 * row lock, so concurrent registrations never share a number.
 */
import { KeelError, shortId } from '../core/index.js';
import type { SqlExecutor } from '../storage/index.js';
import { decodePageToken, type KeyValue, type Page, pageOf, type Run } from '../tracking/index.js';
import { inspectStaged } from './contents.js';
import {
  modelNotFound,
  type RegistryContext,
  upsertTag,
  validateRegistryTag,
  versionNotFound,
} from './context.js';
import { folderHeld, MODELS_FOLDER } from './files.js';
import { syncProductionAlias } from './lifecycle.js';
import type { SearchOptions } from './models.js';
import { parseVersion, validateModelName } from './names.js';
import { auditRefusal, heldProtection, requireProtected } from './protection.js';
import { hydrateVersions, lockModel, packageOf, type VersionRow, versionDir } from './rows.js';
import { compileFilter, compileOrderBy, VERSION_SEARCH, validateMax } from './search.js';
import { lineageOf, stageSource } from './source.js';
import type { Lineage, ModelPackage, ModelVersion } from './types.js';

export interface CreateVersionInput {
  name: string;
  /**
   * `runs:/<run_id>/<path>`, `models:/m-<logged model id>`, `mlflow-artifacts:/<path>`, or a local
   * MLflow model folder or ONNX file (an upload).
   */
  source: string;
  runId?: string;
  /** The MLflow 3 logged model the source is (MLflow's `model_id`); read from a `models:/m-...` source. */
  modelId?: string;
  runLink?: string;
  description?: string;
  tags?: KeyValue[];
  /** Feature references (`view:feature`) the model reads from the feature store. */
  features?: string[];
  /** Lineage facts the run does not hold (they win over the run's). */
  lineage?: Partial<Lineage>;
}

/** The tag Keel sets on every version: `true` when Keel can serve it (registry/contents). */
export const SERVABLE_TAG = 'keel.servable';
/** Set by a server that refused to swap to the version: when, on which side, and why. */
export const SERVING_REFUSED_TAG = 'keel.serving_refused';

/** @throws INVALID_PARAMETER_VALUE for a tag Keel keeps itself. */
function refuseReservedTag(key: string): void {
  if (key === SERVABLE_TAG)
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `Tag '${SERVABLE_TAG}' is set by Keel from the version's files (whether Keel can serve it) and cannot be set or deleted`,
    );
}

/** Where a version's files live in the artifact store. */
export const versionFolder = (name: string, version: number | string): string =>
  `${MODELS_FOLDER}/${name}/${version}`;

export class VersionStore {
  constructor(private readonly ctx: RegistryContext) {}

  /**
   * Registers a new version of an existing model: any MLflow model folder, or an ONNX file. Whether
   * Keel can serve it is recorded (registry/contents), not a condition.
   * @throws INVALID_PARAMETER_VALUE for a source that is no model (naming it), a broken MLmodel, or
   *   a single file that is not a valid ONNX model; RESOURCE_DOES_NOT_EXIST for a missing model or run.
   */
  async create(input: CreateVersionInput): Promise<ModelVersion> {
    const { name } = input;
    const { artifacts } = this.ctx;
    this.ctx.require('write', `register a version of '${name}'`);
    validateModelName(name);
    if (typeof input.source !== 'string' || input.source === '') {
      throw new KeelError('INVALID_PARAMETER_VALUE', `Model version of '${name}' needs a source`);
    }
    for (const t of input.tags ?? []) {
      validateRegistryTag(t.key, t.value);
      refuseReservedTag(t.key);
    }
    // The files are copied under a name no other create uses, then moved into the version's
    // folder under the model's lock: a create that fails never touches another one's files.
    const staging = artifacts.tempPath(`${MODELS_FOLDER}/${name}`);
    try {
      const staged = await stageSource(input.source, this.ctx, staging);
      const runId = input.runId || staged.runId;
      const contents = await inspectStaged(this.ctx, staging, input.source, {
        single: staged.fileName,
        runId,
      });
      const files = await artifacts.digest(staging);
      const run: Run | undefined = runId ? await this.ctx.tracking.runs.get(runId) : undefined;
      const lineage = lineageOf(run, input.lineage);
      const modelId = input.modelId || staged.modelId || '';
      const servable = contents.onnxFile !== undefined;
      const tags = [...(input.tags ?? []), { key: SERVABLE_TAG, value: String(servable) }];
      const now = this.ctx.clock.now();
      const version = await this.ctx.db.transaction(async (tx) => {
        if (!(await lockModel(tx, name, now))) throw modelNotFound(name);
        const max = await tx.get<{ v: number | null }>(
          'SELECT MAX(version) AS v FROM model_versions WHERE name = ?',
          [name],
        );
        const v = Number(max?.v ?? 0) + 1;
        const folder = await this.freeFolder(tx, versionFolder(name, v));
        await tx.run(
          `INSERT INTO model_versions (name, version, creation_timestamp, last_updated_timestamp, user_id, current_stage,
             stage_since, description, source, run_id, run_link, status, status_message, model_path, signature, features, lineage, files,
             folder, flavors, servable, not_servable, model_id)
           VALUES (?, ?, ?, ?, ?, 'None', ?, ?, ?, ?, ?, 'READY', '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
            servable ? `${folder}/${contents.onnxFile}` : '',
            JSON.stringify(contents.signature),
            JSON.stringify(input.features ?? []),
            JSON.stringify(lineage),
            JSON.stringify(files),
            folder,
            JSON.stringify(contents.flavors),
            servable ? 1 : 0,
            contents.notServable,
            modelId,
          ],
        );
        for (const t of tags) await upsertTag(tx, 'model_version_tags', { name, version: v }, t.key, t.value);
        await this.ctx.audit.append(
          {
            ts: now,
            actor: this.ctx.actor.user,
            action: 'register',
            outcome: 'applied',
            name,
            version: String(v),
            to: input.source,
            reason: servable ? '' : `not servable by Keel: ${contents.notServable}`,
          },
          tx,
        );
        // The files move in last: a statement that fails ends PostgreSQL's locks at once (not at
        // ROLLBACK), so nothing may touch the folder after one. Should the commit fail, the folder
        // holds files no version has; the next create of that number moves them aside.
        await artifacts.move(staging, folder);
        return v;
      });
      const created = await this.get(name, version);
      this.ctx.events.emit('model_version.created', { ...created });
      return created;
    } finally {
      if (await artifacts.kind(staging).catch(() => undefined))
        await artifacts.delete(staging).catch(() => undefined);
    }
  }

  /**
   * The folder a new version's files go to: `folder`, unless something is there. Files no version
   * holds (a deleted version's, kept for the audit trail, or a create whose commit failed) move
   * aside to `<folder>.replaced-<id>`; a folder a version still holds (of a model since renamed)
   * stays, and the new version takes `<folder>-<id>`.
   */
  private async freeFolder(tx: SqlExecutor, folder: string): Promise<string> {
    const { artifacts } = this.ctx;
    if ((await artifacts.kind(folder)) === undefined) return folder;
    if (await folderHeld(tx, folder)) return `${folder}-${shortId(6)}`;
    await artifacts.move(folder, `${folder}.replaced-${shortId(6)}`);
    return folder;
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

  /**
   * `mlflow-artifacts:/models/<name>/<version>`: the version's folder, an MLflow model folder
   * (MLmodel at its top) that MLflow's clients list and download through the artifact proxy.
   */
  async downloadUri(name: string, version: number | string): Promise<string> {
    return `mlflow-artifacts:/${versionDir(await this.row(name, version))}`;
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

  /**
   * Deletes the version, its tags and the aliases pointing at it; its files stay for the audit
   * trail. A version in Production or holding a protected alias needs the policy's
   * `protection.deleteProtected` role.
   */
  async delete(name: string, version: number | string): Promise<void> {
    const entry = { action: 'delete_version' as const, name, version: String(version) };
    await auditRefusal(this.ctx, entry, () =>
      this.change(name, version, 'delete', async (tx, v) => {
        const held = await heldProtection(tx, this.ctx.policy, name, v);
        if (held.length > 0)
          requireProtected(
            this.ctx,
            'deleteProtected',
            `delete version ${v} of '${name}', which holds ${held.join(' and ')}`,
          );
        await this.deleteRow(tx, name, v);
      }),
    );
  }

  private async deleteRow(tx: SqlExecutor, name: string, v: number): Promise<void> {
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
  }

  async setTag(name: string, version: number | string, key: string, value: string): Promise<void> {
    validateRegistryTag(key, value);
    refuseReservedTag(key);
    await this.change(name, version, 'tag', (tx, v) =>
      upsertTag(tx, 'model_version_tags', { name, version: v }, key, value),
    );
    this.ctx.events.emit('model_version_tag.set', { name, version: String(version), key, value });
  }

  /** @throws RESOURCE_DOES_NOT_EXIST when the version or the tag is missing. */
  async deleteTag(name: string, version: number | string, key: string): Promise<void> {
    refuseReservedTag(key);
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
