/**
 * @module tracking/logged-models
 * MLflow 3's logged models: a model with its own id, params, tags and status inside an
 * experiment, its files under `<experiment artifact location>/models/<model_id>/artifacts`. The
 * client creates one (PENDING), uploads the files through the artifact proxy, then finalizes it
 * (READY or UPLOAD_FAILED). Metric points logged with a `model_id` are linked to the model, and
 * runs record the models they read and produced. Deleting is soft: the model disappears from get
 * and search, its rows and files stay.
 */
import { type Clock, KeelError, newRunId } from '../core/index.js';
import { placeholders, type SqlDatabase, type SqlExecutor, type SqlValue } from '../storage/index.js';
import { activeArtifactLocation, parseExperimentId } from './experiments.js';
import { type Clause, parseFilter } from './filter.js';
import { insertWriteOnce, type KeyValueTable, upsertKeyValues } from './key-values.js';
import { LIMITS, validateKey, validateMaxResults } from './limits.js';
import { randomName } from './names.js';
import { decodePageToken, pageOf } from './paging.js';
import {
  compileLoggedModelFilter,
  compileLoggedModelOrderBy,
  type DatasetRef,
  type LoggedModelOrder,
} from './search-sql.js';
import type {
  KeyValue,
  LoggedMetric,
  LoggedModel,
  LoggedModelMetric,
  LoggedModelStatus,
  ModelInput,
  Page,
} from './types.js';

interface ModelRow {
  model_id: string;
  experiment_id: number;
  name: string;
  artifact_location: string;
  creation_timestamp_ms: number;
  last_updated_timestamp_ms: number;
  status: LoggedModelStatus;
  lifecycle_stage: 'active' | 'deleted';
  model_type: string | null;
  source_run_id: string | null;
  status_message: string | null;
}

interface MetricRow {
  model_id: string;
  run_uuid: string;
  key: string;
  value: number;
  is_nan: number;
  timestamp: number;
  step: number;
  dataset_name: string | null;
  dataset_digest: string | null;
}

/** What finalize may set (FinalizeLoggedModel's doc in service.proto). */
const FINAL_STATUSES: readonly LoggedModelStatus[] = ['LOGGED_MODEL_READY', 'LOGGED_MODEL_UPLOAD_FAILED'];

/** Filters may name a status as MLflow's Python entity prints it (`status = 'READY'`). */
const STATUS_ALIASES: Record<string, LoggedModelStatus> = {
  PENDING: 'LOGGED_MODEL_PENDING',
  READY: 'LOGGED_MODEL_READY',
  FAILED: 'LOGGED_MODEL_UPLOAD_FAILED',
  UPLOAD_FAILED: 'LOGGED_MODEL_UPLOAD_FAILED',
};

/** MLflow's `_validate_logged_model_name`: the name becomes part of URLs and paths. */
const FORBIDDEN_NAME_CHARS = ['/', ':', '.', '%', '"', "'"];

const notFound = (modelId: string) =>
  new KeelError('RESOURCE_DOES_NOT_EXIST', `Logged model with ID '${modelId}' not found.`);

function validateName(name: string): void {
  if (FORBIDDEN_NAME_CHARS.some((c) => name.includes(c))) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `Invalid model name ('${name}') provided. Model name must be a non-empty string and cannot contain the following characters: ${FORBIDDEN_NAME_CHARS.join(' ')}`,
    );
  }
}

/** Keys as runs' are checked, and values within the limits a run's params and tags have. */
function validateEntries(kind: 'model param' | 'tag', entries: KeyValue[]): void {
  const limit = kind === 'tag' ? LIMITS.runTagValueLength : LIMITS.paramValueLength;
  for (const e of entries) {
    validateKey(kind, e.key);
    if (e.value.length > limit)
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `${kind} '${e.key}' value is ${e.value.length} characters, the limit is ${limit}`,
      );
  }
}

const statusAlias = (c: Clause): Clause => {
  if (c.type !== 'attribute' || c.key !== 'status') return c;
  const alias = (v: string) => STATUS_ALIASES[v] ?? v;
  if (Array.isArray(c.value)) return { ...c, value: c.value.map(alias) };
  return typeof c.value === 'string' ? { ...c, value: alias(c.value) } : c;
};

/**
 * The active models among `ids`, in the same transaction as the write that names them.
 * @throws RESOURCE_DOES_NOT_EXIST naming the first unknown or deleted one.
 */
async function requireModels(tx: SqlExecutor, ids: string[]): Promise<void> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return;
  const found = await tx.all<{ model_id: string }>(
    `SELECT model_id FROM logged_models WHERE lifecycle_stage = 'active' AND model_id IN ${placeholders(unique.length)}`,
    unique,
  );
  const known = new Set(found.map((r) => r.model_id));
  const missing = unique.find((id) => !known.has(id));
  if (missing) throw notFound(missing);
}

/**
 * Links the batch's points that carry a `model_id` to their models; a point already linked (same
 * model, key, timestamp, step and run) is kept once, as MLflow's primary key does.
 * @throws RESOURCE_DOES_NOT_EXIST for an unknown model.
 */
export async function linkModelMetrics(
  tx: SqlExecutor,
  runId: string,
  metrics: LoggedMetric[],
): Promise<void> {
  const linked = metrics.filter((m) => m.model_id);
  await requireModels(
    tx,
    linked.map((m) => m.model_id!),
  );
  const byKey = (m: LoggedMetric) => [m.model_id!, m.key, m.timestamp, m.step];
  await tx.insertMany({
    table: 'logged_model_metrics',
    columns: [
      ['model_id', 'text'],
      ['run_uuid', 'text'],
      ['key', 'text'],
      ['value', 'double'],
      ['is_nan', 'integer'],
      ['timestamp', 'bigint'],
      ['step', 'bigint'],
      ['dataset_name', 'text'],
      ['dataset_digest', 'text'],
    ],
    // Primary key order, so concurrent writers of the same points wait for each other in one order.
    rows: [...linked]
      .sort((a, b) => compareTuples(byKey(a), byKey(b)))
      .map((m) => {
        const nan = Number.isNaN(m.value);
        return [
          m.model_id!,
          runId,
          m.key,
          nan ? 0 : m.value,
          nan ? 1 : 0,
          m.timestamp,
          m.step,
          m.dataset_name ?? null,
          m.dataset_digest ?? null,
        ];
      }),
    onConflict: 'ON CONFLICT DO NOTHING',
  });
}

function compareTuples(a: Array<string | number>, b: Array<string | number>): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

/**
 * Records models a run read (`input`) or produced (`output`, at a step; the last step logged wins).
 * @throws RESOURCE_DOES_NOT_EXIST for an unknown model.
 */
export async function linkRunModels(
  tx: SqlExecutor,
  runId: string,
  direction: 'input' | 'output',
  models: Array<ModelInput & { step?: number }>,
): Promise<void> {
  await requireModels(
    tx,
    models.map((m) => m.model_id),
  );
  for (const m of models) {
    await tx.run(
      `INSERT INTO run_models (run_uuid, model_id, direction, step) VALUES (?, ?, ?, ?)
       ON CONFLICT (run_uuid, model_id, direction) DO UPDATE SET step = excluded.step`,
      [runId, m.model_id, direction, m.step ?? 0],
    );
  }
}

export interface CreateLoggedModelOptions {
  experimentId: string;
  /** Generated (`bright-fox-123`) when absent or empty. */
  name?: string;
  modelType?: string;
  sourceRunId?: string;
  params?: KeyValue[];
  tags?: KeyValue[];
}

export interface SearchLoggedModelsOptions {
  experimentIds: string[];
  /** MLflow's filter language over attributes, `metrics.`, `params.` and `tags.`. */
  filter?: string;
  /** Metric clauses count only points measured on one of these datasets. */
  datasets?: DatasetRef[];
  /** Default 100, as MLflow's SEARCH_LOGGED_MODEL_MAX_RESULTS_DEFAULT. */
  maxResults?: number;
  orderBy?: LoggedModelOrder[];
  pageToken?: string;
}

export class LoggedModelStore {
  constructor(
    private readonly db: SqlDatabase,
    private readonly clock: Clock,
  ) {}

  /**
   * Creates a PENDING model whose artifact location sits under its experiment's.
   * @throws RESOURCE_DOES_NOT_EXIST for an unknown experiment; INVALID_PARAMETER_VALUE for a
   * deleted one, a bad name, key or repeated param with two values.
   */
  async create(options: CreateLoggedModelOptions): Promise<LoggedModel> {
    const expId = parseExperimentId(options.experimentId);
    if (options.name) validateName(options.name);
    validateEntries('model param', options.params ?? []);
    validateEntries('tag', options.tags ?? []);
    const modelId = `m-${newRunId()}`;
    await this.db.transaction(async (tx) => {
      const location = await activeArtifactLocation(tx, expId);
      const now = this.clock.now();
      await tx.run(
        `INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_timestamp_ms,
           last_updated_timestamp_ms, status, lifecycle_stage, model_type, source_run_id)
         VALUES (?, ?, ?, ?, ?, ?, 'LOGGED_MODEL_PENDING', 'active', ?, ?)`,
        [
          modelId,
          expId,
          options.name || randomName(),
          `${location}/models/${modelId}/artifacts`,
          now,
          now,
          options.modelType || null,
          options.sourceRunId || null,
        ],
      );
      await insertWriteOnce(tx, this.kv('logged_model_params', modelId), options.params ?? []);
      await upsertKeyValues(tx, this.kv('logged_model_tags', modelId), options.tags ?? []);
    });
    return this.get(modelId);
  }

  /** @throws RESOURCE_DOES_NOT_EXIST for an unknown or deleted model. */
  async get(modelId: string): Promise<LoggedModel> {
    return (await this.hydrate([await this.row(this.db, modelId)]))[0];
  }

  /** The store URI the model's files live under, for listing them. */
  async artifactLocation(modelId: string): Promise<string> {
    return (await this.row(this.db, modelId)).artifact_location;
  }

  /** @throws INVALID_PARAMETER_VALUE for a status other than READY or UPLOAD_FAILED. */
  async finalize(modelId: string, status: LoggedModelStatus): Promise<LoggedModel> {
    if (!FINAL_STATUSES.includes(status)) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `Invalid status '${status}' to finalize logged model '${modelId}': use ${FINAL_STATUSES.join(' or ')}`,
      );
    }
    await this.db.transaction(async (tx) => {
      await this.row(tx, modelId);
      await tx.run('UPDATE logged_models SET status = ?, last_updated_timestamp_ms = ? WHERE model_id = ?', [
        status,
        this.clock.now(),
        modelId,
      ]);
    });
    return this.get(modelId);
  }

  /** Soft delete; deleting a deleted model again is fine, as in MLflow. */
  async delete(modelId: string): Promise<void> {
    const { changes } = await this.db.run(
      "UPDATE logged_models SET lifecycle_stage = 'deleted', last_updated_timestamp_ms = ? WHERE model_id = ?",
      [this.clock.now(), modelId],
    );
    if (changes === 0) throw notFound(modelId);
  }

  async setTags(modelId: string, tags: KeyValue[]): Promise<void> {
    validateEntries('tag', tags);
    await this.db.transaction(async (tx) => {
      await this.row(tx, modelId);
      await upsertKeyValues(tx, this.kv('logged_model_tags', modelId), tags);
    });
  }

  /** @throws RESOURCE_DOES_NOT_EXIST for an unknown model or tag. */
  async deleteTag(modelId: string, key: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.row(tx, modelId);
      const { changes } = await tx.run('DELETE FROM logged_model_tags WHERE model_id = ? AND key = ?', [
        modelId,
        key,
      ]);
      if (changes === 0) {
        throw new KeelError(
          'RESOURCE_DOES_NOT_EXIST',
          `No tag with key '${key}' found for model with ID '${modelId}'.`,
        );
      }
    });
  }

  /** Params are write-once, as a run's are. */
  async logParams(modelId: string, params: KeyValue[]): Promise<void> {
    validateEntries('model param', params);
    await this.db.transaction(async (tx) => {
      await this.row(tx, modelId);
      await insertWriteOnce(tx, this.kv('logged_model_params', modelId), params);
    });
  }

  /** Active models of the experiments, newest first unless `orderBy` says otherwise. */
  async search(options: SearchLoggedModelsOptions): Promise<Page<LoggedModel>> {
    const max = validateMaxResults(options.maxResults, 100);
    const offset = decodePageToken(options.pageToken);
    const ids = options.experimentIds.map(parseExperimentId);
    const where = compileLoggedModelFilter(parseFilter(options.filter).map(statusAlias), options.datasets);
    const order = compileLoggedModelOrderBy(options.orderBy ?? []);
    if (ids.length === 0) return { items: [] };
    const conditions = [
      `lm.experiment_id IN ${placeholders(ids.length)}`,
      "lm.lifecycle_stage = 'active'",
      where.sql,
    ].filter(Boolean);
    const params: SqlValue[] = [...ids, ...where.params, ...order.params, max + 1, offset];
    const rows = await this.db.all<ModelRow>(
      `SELECT lm.* FROM logged_models lm WHERE ${conditions.join(' AND ')} ORDER BY ${order.sql} LIMIT ? OFFSET ?`,
      params,
    );
    const page = pageOf(rows, offset, max);
    return { items: await this.hydrate(page.items), next_page_token: page.next_page_token };
  }

  private kv(table: string, modelId: string): KeyValueTable {
    return { table, ownerColumn: 'model_id', ownerId: modelId, ownerLabel: `logged model ID='${modelId}'` };
  }

  private async row(exec: SqlExecutor, modelId: string): Promise<ModelRow> {
    const row = await exec.get<ModelRow>(
      "SELECT * FROM logged_models WHERE model_id = ? AND lifecycle_stage = 'active'",
      [modelId],
    );
    if (!row) throw notFound(modelId);
    return row;
  }

  private async hydrate(rows: ModelRow[]): Promise<LoggedModel[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.model_id);
    const list = placeholders(ids.length);
    const [params, tags, metrics] = await Promise.all([
      this.db.all<KeyValue & { model_id: string }>(
        `SELECT model_id, key, value FROM logged_model_params WHERE model_id IN ${list} ORDER BY key`,
        ids,
      ),
      this.db.all<KeyValue & { model_id: string }>(
        `SELECT model_id, key, value FROM logged_model_tags WHERE model_id IN ${list} ORDER BY key`,
        ids,
      ),
      this.db.all<MetricRow>(
        `SELECT * FROM logged_model_metrics WHERE model_id IN ${list} ORDER BY key, step, timestamp, run_uuid`,
        ids,
      ),
    ]);
    const of = <T extends { model_id: string }>(items: T[], id: string) =>
      items.filter((i) => i.model_id === id);
    return rows.map((r) => ({
      info: {
        model_id: r.model_id,
        experiment_id: String(r.experiment_id),
        name: r.name,
        creation_timestamp_ms: r.creation_timestamp_ms,
        last_updated_timestamp_ms: r.last_updated_timestamp_ms,
        artifact_uri: r.artifact_location,
        status: r.status,
        ...(r.model_type ? { model_type: r.model_type } : {}),
        ...(r.source_run_id ? { source_run_id: r.source_run_id } : {}),
        ...(r.status_message ? { status_message: r.status_message } : {}),
        tags: of(tags, r.model_id).map(({ key, value }) => ({ key, value })),
      },
      data: {
        params: of(params, r.model_id).map(({ key, value }) => ({ key, value })),
        metrics: of(metrics, r.model_id).map(toMetric),
      },
    }));
  }
}

const toMetric = (m: MetricRow): LoggedModelMetric => ({
  key: m.key,
  value: m.is_nan ? Number.NaN : m.value,
  timestamp: m.timestamp,
  step: m.step,
  ...(m.dataset_name ? { dataset_name: m.dataset_name } : {}),
  ...(m.dataset_digest ? { dataset_digest: m.dataset_digest } : {}),
  model_id: m.model_id,
  run_id: m.run_uuid,
});
