/**
 * @module registry/models
 * Registered models: create, rename, describe, delete, get, search and tags. A model shows its
 * newest version per stage (`latest_versions`), its tags and its aliases.
 */
import { KeelError } from '../core/index.js';
import type { SqlExecutor } from '../storage/index.js';
import { decodePageToken, type KeyValue, type Page, pageOf } from '../tracking/index.js';
import { modelNotFound, type RegistryContext, upsertTag, validateRegistryTag } from './context.js';
import { validateModelName } from './names.js';
import { auditRefusal, heldProtection, requireProtected } from './protection.js';
import { hydrateVersions, lockModel, type ModelRow, type VersionRow } from './rows.js';
import { compileFilter, compileOrderBy, MODEL_SEARCH, validateMax } from './search.js';
import type { ModelVersion, RegisteredModel } from './types.js';

export interface SearchOptions {
  filter?: string;
  maxResults?: number;
  orderBy?: string[];
  pageToken?: string;
}

/** The newest version in each stage, ordered None, Staging, Production, Archived as MLflow does. */
export async function latestVersions(
  exec: SqlExecutor,
  name: string,
  stages?: string[],
): Promise<ModelVersion[]> {
  const rows = await exec.all<VersionRow>(
    `SELECT v.* FROM model_versions v WHERE v.name = ? AND v.version = (
       SELECT MAX(w.version) FROM model_versions w WHERE w.name = v.name AND w.current_stage = v.current_stage)
     ORDER BY v.version ASC`,
    [name],
  );
  const wanted = stages?.length ? rows.filter((r) => stages.includes(r.current_stage)) : rows;
  return hydrateVersions(exec, wanted);
}

export class ModelStore {
  constructor(private readonly ctx: RegistryContext) {}

  /** @throws RESOURCE_ALREADY_EXISTS, INVALID_PARAMETER_VALUE */
  async create(
    name: string,
    options: { description?: string; tags?: KeyValue[] } = {},
  ): Promise<RegisteredModel> {
    this.ctx.require('write', `create registered model '${name}'`);
    validateModelName(name);
    for (const t of options.tags ?? []) validateRegistryTag(t.key, t.value);
    const now = this.ctx.clock.now();
    await this.ctx.db.transaction(async (tx) => {
      if (await tx.get('SELECT 1 AS x FROM registered_models WHERE name = ?', [name])) {
        throw new KeelError('RESOURCE_ALREADY_EXISTS', `Registered Model (name=${name}) already exists.`);
      }
      await tx.run(
        'INSERT INTO registered_models (name, creation_timestamp, last_updated_timestamp, description) VALUES (?, ?, ?, ?)',
        [name, now, now, options.description ?? ''],
      );
      for (const t of options.tags ?? [])
        await upsertTag(tx, 'registered_model_tags', { name }, t.key, t.value);
      await this.ctx.audit.append(
        { ts: now, actor: this.ctx.actor.user, action: 'create_model', outcome: 'applied', name, reason: '' },
        tx,
      );
    });
    this.ctx.events.emit('registered_model.created', {
      name,
      tags: options.tags ?? [],
      description: options.description ?? '',
    });
    return this.get(name);
  }

  /** @throws RESOURCE_DOES_NOT_EXIST */
  async get(name: string, exec: SqlExecutor = this.ctx.db): Promise<RegisteredModel> {
    const row = await exec.get<ModelRow>('SELECT * FROM registered_models WHERE name = ?', [name]);
    if (!row) throw modelNotFound(name);
    return (await this.hydrate([row], exec))[0];
  }

  private async hydrate(rows: ModelRow[], exec: SqlExecutor = this.ctx.db): Promise<RegisteredModel[]> {
    return Promise.all(
      rows.map(async (r) => ({
        name: r.name,
        creation_timestamp: r.creation_timestamp,
        last_updated_timestamp: r.last_updated_timestamp,
        description: r.description,
        latest_versions: await latestVersions(exec, r.name),
        tags: await exec.all<KeyValue>(
          'SELECT key, value FROM registered_model_tags WHERE name = ? ORDER BY key',
          [r.name],
        ),
        aliases: (
          await exec.all<{ alias: string; version: number }>(
            'SELECT alias, version FROM registered_model_aliases WHERE name = ? ORDER BY alias',
            [r.name],
          )
        ).map((a) => ({ alias: a.alias, version: String(a.version) })),
      })),
    );
  }

  /** MLflow's search: default order `name ASC`, at most 1000 per page. */
  async search(options: SearchOptions = {}): Promise<Page<RegisteredModel>> {
    const max = validateMax(options.maxResults, 100, 1000);
    const offset = decodePageToken(options.pageToken);
    const where = compileFilter(MODEL_SEARCH, options.filter);
    const order = compileOrderBy(MODEL_SEARCH, options.orderBy, 'name ASC');
    const rows = await this.ctx.db.all<ModelRow>(
      `SELECT m.* FROM registered_models m ${where.sql ? `WHERE ${where.sql}` : ''} ORDER BY ${order} LIMIT ? OFFSET ?`,
      [...where.params, max + 1, offset],
    );
    const page = pageOf(rows, offset, max);
    return { items: await this.hydrate(page.items), next_page_token: page.next_page_token };
  }

  private async change(name: string, what: string, fn: (tx: SqlExecutor) => Promise<void>): Promise<void> {
    this.ctx.require('write', `${what} registered model '${name}'`);
    await this.ctx.db.transaction(async (tx) => {
      if (!(await lockModel(tx, name, this.ctx.clock.now()))) throw modelNotFound(name);
      await fn(tx);
    });
  }

  /** @throws RESOURCE_DOES_NOT_EXIST, RESOURCE_ALREADY_EXISTS */
  async rename(name: string, newName: string): Promise<RegisteredModel> {
    validateModelName(newName);
    await this.change(name, 'rename', async (tx) => {
      if (
        newName !== name &&
        (await tx.get('SELECT 1 AS x FROM registered_models WHERE name = ?', [newName]))
      ) {
        throw new KeelError('RESOURCE_ALREADY_EXISTS', `Registered Model (name=${newName}) already exists.`);
      }
      await tx.run('UPDATE registered_models SET name = ? WHERE name = ?', [newName, name]);
      await this.ctx.audit.append(
        {
          ts: this.ctx.clock.now(),
          actor: this.ctx.actor.user,
          action: 'rename_model',
          outcome: 'applied',
          name: newName,
          from: name,
          to: newName,
          reason: '',
        },
        tx,
      );
    });
    return this.get(newName);
  }

  async updateDescription(name: string, description: string): Promise<RegisteredModel> {
    await this.change(name, 'update', async (tx) => {
      await tx.run('UPDATE registered_models SET description = ? WHERE name = ?', [description, name]);
    });
    return this.get(name);
  }

  /**
   * Deletes the model with its versions, tags and aliases; the files stay for the audit trail. A
   * model with a version in Production or holding a protected alias needs the policy's
   * `protection.deleteProtected` role.
   */
  async delete(name: string): Promise<void> {
    await auditRefusal(this.ctx, { action: 'delete_model', name }, () =>
      this.change(name, 'delete', async (tx) => {
        const held = await heldProtection(tx, this.ctx.policy, name);
        if (held.length > 0)
          requireProtected(
            this.ctx,
            'deleteProtected',
            `delete registered model '${name}', which holds ${held.join(' and ')}`,
          );
        await this.deleteRow(tx, name);
      }),
    );
  }

  private async deleteRow(tx: SqlExecutor, name: string): Promise<void> {
    await tx.run('DELETE FROM registered_models WHERE name = ?', [name]);
    await this.ctx.audit.append(
      {
        ts: this.ctx.clock.now(),
        actor: this.ctx.actor.user,
        action: 'delete_model',
        outcome: 'applied',
        name,
        reason: '',
      },
      tx,
    );
  }

  async setTag(name: string, key: string, value: string): Promise<void> {
    validateRegistryTag(key, value);
    await this.change(name, 'tag', (tx) => upsertTag(tx, 'registered_model_tags', { name }, key, value));
  }

  /** @throws RESOURCE_DOES_NOT_EXIST when the model or the tag is missing. */
  async deleteTag(name: string, key: string): Promise<void> {
    await this.change(name, 'untag', async (tx) => {
      const { changes } = await tx.run('DELETE FROM registered_model_tags WHERE name = ? AND key = ?', [
        name,
        key,
      ]);
      if (changes === 0)
        throw new KeelError('RESOURCE_DOES_NOT_EXIST', `No tag '${key}' on registered model '${name}'`);
    });
  }
}
