/**
 * @module tracking/experiments
 * Experiment operations over the metadata database. Experiment 0, `Default`, always exists. An
 * experiment's artifact location is an `mlflow-artifacts:/` URI inside the artifact store (the
 * only kind Keel serves), outside the registry's `models/` folder: MLflow's server takes any
 * location; Keel refuses the ones that would point its proxy elsewhere.
 */
import { joinArtifactPath } from '../artifacts/index.js';
import { type Clock, KeelError } from '../core/index.js';
import type { RowLock, SqlDatabase, SqlExecutor } from '../storage/index.js';
import { parseFilter, parseOrderBy } from './filter.js';
import { LIMITS, validateMaxResults, validateTag } from './limits.js';
import { decodePageToken, pageOf } from './paging.js';
import { compileExperimentFilter, compileExperimentOrderBy } from './search-sql.js';
import type { Experiment, KeyValue, Page, ViewType } from './types.js';

interface ExperimentRow {
  experiment_id: number;
  name: string;
  artifact_location: string;
  lifecycle_stage: 'active' | 'deleted';
  creation_time: number;
  last_update_time: number;
}

export const DEFAULT_EXPERIMENT_ID = '0';

/** The URI experiments' artifacts live under; resolved by the artifact store. */
export const experimentArtifactLocation = (id: string | number): string => `mlflow-artifacts:/${id}`;

/**
 * A requested artifact location, checked: `mlflow-artifacts:/<path>` with a relative path that
 * stays in the store and out of `models/`.
 * @throws KeelError INVALID_PARAMETER_VALUE naming the location and the rule.
 */
export function checkArtifactLocation(location: string): string {
  const scheme = 'mlflow-artifacts:/';
  const refuse = (why: string) =>
    new KeelError('INVALID_PARAMETER_VALUE', `Invalid artifact_location '${location}': ${why}`);
  if (!location.startsWith(scheme))
    throw refuse(`Keel keeps artifacts in its own store: use ${scheme}<path>`);
  let path: string;
  try {
    path = joinArtifactPath(location.slice(scheme.length));
  } catch (err) {
    throw refuse((err as Error).message);
  }
  if (path === 'models' || path.startsWith('models/')) throw refuse("'models/' holds the registry's files");
  return `${scheme}${path}`;
}

/**
 * The artifact location of an experiment new runs and models may go into, read in `tx` (and
 * locked, with `lock`, so the experiment cannot be deleted before the transaction ends).
 * @throws KeelError RESOURCE_DOES_NOT_EXIST for an unknown experiment, INVALID_PARAMETER_VALUE for
 *   a deleted one (MLflow's messages).
 */
export async function activeArtifactLocation(
  tx: SqlExecutor,
  experimentId: number,
  lock?: RowLock,
): Promise<string> {
  const exp = await tx.get<{ lifecycle_stage: string; artifact_location: string }>(
    `SELECT lifecycle_stage, artifact_location FROM experiments WHERE experiment_id = ?${lock ? tx.lockClause(lock) : ''}`,
    [experimentId],
  );
  if (!exp) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `No Experiment with id=${experimentId} exists`);
  if (exp.lifecycle_stage !== 'active') {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `The experiment ${experimentId} must be in the 'active' state. Current state is ${exp.lifecycle_stage}.`,
    );
  }
  return exp.artifact_location;
}

export function parseExperimentId(id: unknown): number {
  const n =
    typeof id === 'number' ? id : typeof id === 'string' && /^\d+$/.test(id) ? Number(id) : Number.NaN;
  if (!Number.isSafeInteger(n))
    throw new KeelError('INVALID_PARAMETER_VALUE', `Invalid experiment ID '${String(id)}'`);
  return n;
}

export class ExperimentStore {
  constructor(
    private readonly db: SqlDatabase,
    private readonly clock: Clock,
  ) {}

  async ensureDefault(): Promise<void> {
    const now = this.clock.now();
    await this.db.run(
      `INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
       VALUES (0, 'Default', ?, 'active', ?, ?) ON CONFLICT DO NOTHING`,
      [experimentArtifactLocation(0), now, now],
    );
  }

  /**
   * @throws RESOURCE_ALREADY_EXISTS when the name is taken (deleted experiments keep their name).
   */
  async create(
    name: string,
    options: { artifactLocation?: string; tags?: KeyValue[] } = {},
  ): Promise<string> {
    if (typeof name !== 'string' || name.trim() === '') {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        "Invalid experiment name: 'name' must be a non-empty string",
      );
    }
    for (const t of options.tags ?? []) validateTag(t.key, t.value, LIMITS.experimentTagValueLength);
    const location = options.artifactLocation ? checkArtifactLocation(options.artifactLocation) : undefined;
    return this.db.transaction(async (tx) => {
      if (await tx.get('SELECT 1 AS x FROM experiments WHERE name = ?', [name])) {
        throw new KeelError('RESOURCE_ALREADY_EXISTS', `Experiment '${name}' already exists.`);
      }
      const now = this.clock.now();
      // The artifact location names the id, which is only known after the insert.
      await tx.run(
        `INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time)
         VALUES (?, '', 'active', ?, ?)`,
        [name, now, now],
      );
      const row = await tx.get<{ experiment_id: number }>(
        'SELECT experiment_id FROM experiments WHERE name = ?',
        [name],
      );
      const id = row!.experiment_id;
      await tx.run('UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?', [
        location ?? experimentArtifactLocation(id),
        id,
      ]);
      for (const t of options.tags ?? []) await this.upsertTag(tx, id, t);
      return String(id);
    });
  }

  private async upsertTag(tx: SqlExecutor, id: number, tag: KeyValue): Promise<void> {
    await tx.run(
      'INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value',
      [id, tag.key, tag.value],
    );
  }

  private async hydrate(rows: ExperimentRow[], exec: SqlExecutor = this.db): Promise<Experiment[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.experiment_id);
    const tags = await exec.all<{ experiment_id: number; key: string; value: string }>(
      `SELECT experiment_id, key, value FROM experiment_tags WHERE experiment_id IN (${ids.map(() => '?').join(', ')}) ORDER BY key`,
      ids,
    );
    return rows.map((r) => ({
      experiment_id: String(r.experiment_id),
      name: r.name,
      artifact_location: r.artifact_location,
      lifecycle_stage: r.lifecycle_stage,
      creation_time: r.creation_time,
      last_update_time: r.last_update_time,
      tags: tags
        .filter((t) => t.experiment_id === r.experiment_id)
        .map((t) => ({ key: t.key, value: t.value })),
    }));
  }

  /** @throws RESOURCE_DOES_NOT_EXIST */
  async get(id: string | number, exec: SqlExecutor = this.db): Promise<Experiment> {
    const n = parseExperimentId(id);
    const row = await exec.get<ExperimentRow>('SELECT * FROM experiments WHERE experiment_id = ?', [n]);
    if (!row) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `No Experiment with id=${id} exists`);
    return (await this.hydrate([row], exec))[0];
  }

  /** @throws RESOURCE_DOES_NOT_EXIST */
  async getByName(name: string): Promise<Experiment> {
    const found = await this.findByName(name);
    if (!found)
      throw new KeelError('RESOURCE_DOES_NOT_EXIST', `Could not find experiment with name '${name}'`);
    return found;
  }

  async findByName(name: string): Promise<Experiment | undefined> {
    const row = await this.db.get<ExperimentRow>('SELECT * FROM experiments WHERE name = ?', [name]);
    return row ? (await this.hydrate([row]))[0] : undefined;
  }

  async search(
    options: {
      filter?: string;
      maxResults?: number;
      pageToken?: string;
      orderBy?: string[];
      viewType?: ViewType;
    } = {},
  ): Promise<Page<Experiment>> {
    const max = validateMaxResults(options.maxResults, 1000);
    const offset = decodePageToken(options.pageToken);
    const where = compileExperimentFilter(parseFilter(options.filter));
    const orderBy = options.orderBy?.length
      ? options.orderBy.map(parseOrderBy)
      : [parseOrderBy('creation_time DESC')];
    const order = compileExperimentOrderBy(orderBy);
    const stage = viewTypeCondition(options.viewType, 'e');
    const conditions = [stage, where.sql].filter(Boolean).join(' AND ');
    const rows = await this.db.all<ExperimentRow>(
      `SELECT e.* FROM experiments e ${conditions ? `WHERE ${conditions}` : ''} ORDER BY ${order.sql} LIMIT ? OFFSET ?`,
      [...where.params, ...order.params, max + 1, offset],
    );
    const page = pageOf(rows, offset, max);
    return { items: await this.hydrate(page.items), next_page_token: page.next_page_token };
  }

  private async touch(tx: SqlExecutor, id: number, set: string, params: (string | number)[]): Promise<void> {
    const { changes } = await tx.run(
      `UPDATE experiments SET ${set}, last_update_time = ? WHERE experiment_id = ?`,
      [...params, this.clock.now(), id],
    );
    if (changes === 0) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `No Experiment with id=${id} exists`);
  }

  async delete(id: string): Promise<void> {
    const n = parseExperimentId(id);
    if (n === 0)
      throw new KeelError('INVALID_PARAMETER_VALUE', 'The Default experiment (id 0) cannot be deleted');
    await this.db.transaction(async (tx) => {
      await this.touch(tx, n, "lifecycle_stage = 'deleted'", []);
      await tx.run("UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ? WHERE experiment_id = ?", [
        this.clock.now(),
        n,
      ]);
    });
  }

  async restore(id: string): Promise<void> {
    const n = parseExperimentId(id);
    await this.db.transaction(async (tx) => {
      await this.touch(tx, n, "lifecycle_stage = 'active'", []);
      await tx.run(
        "UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE experiment_id = ?",
        [n],
      );
    });
  }

  async rename(id: string, newName: string): Promise<void> {
    if (typeof newName !== 'string' || newName.trim() === '') {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        "Invalid experiment name: 'new_name' must be a non-empty string",
      );
    }
    const n = parseExperimentId(id);
    await this.db.transaction(async (tx) => {
      const clash = await tx.get<{ experiment_id: number }>(
        'SELECT experiment_id FROM experiments WHERE name = ?',
        [newName],
      );
      if (clash && clash.experiment_id !== n) {
        throw new KeelError('RESOURCE_ALREADY_EXISTS', `Experiment '${newName}' already exists.`);
      }
      await this.touch(tx, n, 'name = ?', [newName]);
    });
  }

  async setTag(id: string, tag: KeyValue): Promise<void> {
    validateTag(tag.key, tag.value, LIMITS.experimentTagValueLength);
    const n = parseExperimentId(id);
    await this.db.transaction(async (tx) => {
      await this.touch(tx, n, 'name = name', []);
      await this.upsertTag(tx, n, tag);
    });
  }

  async deleteTag(id: string, key: string): Promise<void> {
    const n = parseExperimentId(id);
    await this.db.transaction(async (tx) => {
      await this.touch(tx, n, 'name = name', []);
      const { changes } = await tx.run('DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?', [
        n,
        key,
      ]);
      if (changes === 0)
        throw new KeelError('RESOURCE_DOES_NOT_EXIST', `No tag '${key}' on experiment ${id}`);
    });
  }
}

export function viewTypeCondition(viewType: ViewType | undefined, alias: string): string {
  if (viewType === 'ALL') return '';
  if (viewType === 'DELETED_ONLY') return `${alias}.lifecycle_stage = 'deleted'`;
  return `${alias}.lifecycle_stage = 'active'`;
}
