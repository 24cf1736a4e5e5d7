/**
 * @module tracking/runs
 * Run operations: lifecycle, the log-batch primitive every logging call goes through, reads and
 * search. A batch is one transaction: params are checked against what is stored (write-once),
 * tags upserted (last one in the request wins), metric points appended, and the latest value per
 * key kept in `latest_metrics`. Points that carry a `model_id` are also linked to that logged model.
 *
 * Writes to runs are `rows` transactions: batches for different runs (and metric-only batches for
 * the same run) run side by side on PostgreSQL. Each locks its run's row, shared when it only
 * appends and upserts, exclusively when it reads something to decide what to write (params, the
 * run's name, re-logged model points, the run row itself).
 */
import { type Clock, KeelError, newRunId } from '../core/index.js';
import {
  placeholders,
  type RowLock,
  type SqlDatabase,
  type SqlExecutor,
  type SqlValue,
} from '../storage/index.js';
import type { RunStatus } from './client.js';
import { activeArtifactLocation, parseExperimentId, viewTypeCondition } from './experiments.js';
import { parseFilter, parseOrderBy } from './filter.js';
import { insertWriteOnce, type KeyValueTable, upsertKeyValues } from './key-values.js';
import { LIMITS, validateBatch, validateMaxResults, validateRunId, validateTag } from './limits.js';
import { linkModelMetrics, linkRunModels } from './logged-models.js';
import { randomName } from './names.js';
import { decodePageToken, pageOf } from './paging.js';
import { compileRunFilter, compileRunOrderBy } from './search-sql.js';
import type {
  DatasetInputEntity,
  KeyValue,
  LogBatch,
  LoggedMetric,
  Metric,
  ModelInput,
  ModelOutput,
  Page,
  Run,
  RunInfo,
  ViewType,
} from './types.js';

export const RUN_NAME_TAG = 'mlflow.runName';
export const USER_TAG = 'mlflow.user';
/** MLflow 2's history of the models logged to a run: a JSON list in one run tag. */
export const LOGGED_MODELS_TAG = 'mlflow.log-model.history';
const ROWS = { scope: 'rows' } as const;
const STATUSES: readonly RunStatus[] = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'];

interface RunRow {
  run_uuid: string;
  name: string;
  experiment_id: number;
  user_id: string;
  status: RunStatus;
  start_time: number;
  end_time: number | null;
  lifecycle_stage: 'active' | 'deleted';
  artifact_uri: string;
}

interface MetricRow {
  run_uuid: string;
  key: string;
  value: number;
  is_nan: number;
  timestamp: number;
  step: number;
}

const toMetric = (r: MetricRow): Metric => ({
  key: r.key,
  value: r.is_nan ? Number.NaN : r.value,
  timestamp: r.timestamp,
  step: r.step,
});

export function parseStatus(status: unknown): RunStatus {
  if (typeof status === 'string' && (STATUSES as readonly string[]).includes(status))
    return status as RunStatus;
  throw new KeelError(
    'INVALID_PARAMETER_VALUE',
    `Invalid run status '${String(status)}': use one of ${STATUSES.join(', ')}`,
  );
}

export interface CreateRunOptions {
  experimentId: string;
  runName?: string;
  startTime?: number;
  tags?: KeyValue[];
  userId?: string;
}

export class RunStore {
  constructor(
    private readonly db: SqlDatabase,
    private readonly clock: Clock,
  ) {}

  async create(options: CreateRunOptions): Promise<Run> {
    const expId = parseExperimentId(options.experimentId);
    for (const t of options.tags ?? []) validateTag(t.key, t.value, LIMITS.runTagValueLength);
    const tags = new Map((options.tags ?? []).map((t) => [t.key, t.value]));
    const runName = options.runName || tags.get(RUN_NAME_TAG) || randomName();
    tags.set(RUN_NAME_TAG, runName);
    const userId = options.userId || tags.get(USER_TAG) || 'unknown';
    const runId = newRunId();
    await this.db.transaction(async (tx) => {
      const location = await activeArtifactLocation(tx, expId, 'share');
      await tx.run(
        `INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, start_time, lifecycle_stage, artifact_uri)
         VALUES (?, ?, ?, ?, 'RUNNING', ?, 'active', ?)`,
        [
          runId,
          runName,
          expId,
          userId,
          options.startTime ?? this.clock.now(),
          `${location}/${runId}/artifacts`,
        ],
      );
      await upsertKeyValues(
        tx,
        this.kv('tags', runId),
        [...tags].map(([key, value]) => ({ key, value })),
      );
    }, ROWS);
    return this.get(runId);
  }

  /** The run's row; inside a transaction, `lock` keeps it locked until the transaction ends. */
  private async row(exec: SqlExecutor, runId: string, lock?: RowLock): Promise<RunRow> {
    validateRunId(runId);
    const row = await exec.get<RunRow>(
      `SELECT * FROM runs WHERE run_uuid = ?${lock ? exec.lockClause(lock) : ''}`,
      [runId],
    );
    if (!row) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `Run with id=${runId} not found`);
    return row;
  }

  private async activeRow(exec: SqlExecutor, runId: string, lock: RowLock): Promise<RunRow> {
    const row = await this.row(exec, runId, lock);
    if (row.lifecycle_stage !== 'active') {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `The run ${runId} must be in the 'active' state. Current state is deleted.`,
      );
    }
    return row;
  }

  async update(
    runId: string,
    changes: { status?: RunStatus; endTime?: number; runName?: string },
  ): Promise<RunInfo> {
    const status = changes.status === undefined ? undefined : parseStatus(changes.status);
    await this.db.transaction(async (tx) => {
      const row = await this.activeRow(tx, runId, 'update');
      await tx.run('UPDATE runs SET status = ?, end_time = ?, name = ? WHERE run_uuid = ?', [
        status ?? row.status,
        changes.endTime ??
          (status && status !== 'RUNNING' && status !== 'SCHEDULED' ? this.clock.now() : row.end_time),
        changes.runName || row.name,
        runId,
      ]);
      if (changes.runName)
        await upsertKeyValues(tx, this.kv('tags', runId), [{ key: RUN_NAME_TAG, value: changes.runName }]);
    }, ROWS);
    return (await this.get(runId)).info;
  }

  async setLifecycle(runId: string, stage: 'active' | 'deleted'): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.row(tx, runId, 'update');
      await tx.run('UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_uuid = ?', [
        stage,
        stage === 'deleted' ? this.clock.now() : null,
        runId,
      ]);
    }, ROWS);
  }

  /**
   * Logs metrics, params and tags in one transaction.
   * @throws INVALID_PARAMETER_VALUE over the limits, for a changed param value, or a deleted run.
   */
  async logBatch(runId: string, batch: LogBatch): Promise<void> {
    validateBatch(batch);
    const last = new Map((batch.tags ?? []).map((t) => [t.key, t.value]));
    const name = last.get(RUN_NAME_TAG);
    // Params are checked against what is stored, the name rewrites the run row and re-logged
    // model points are compared with stored ones: those batches take the run exclusively.
    const decides = Boolean(batch.params?.length || name || batch.metrics?.some((m) => m.model_id));
    await this.db.transaction(async (tx) => {
      await this.activeRow(tx, runId, decides ? 'update' : 'share');
      if (batch.params?.length) await insertWriteOnce(tx, this.kv('params', runId), batch.params);
      if (last.size > 0) {
        await upsertKeyValues(
          tx,
          this.kv('tags', runId),
          [...last].map(([key, value]) => ({ key, value })),
        );
        if (name) await tx.run('UPDATE runs SET name = ? WHERE run_uuid = ?', [name, runId]);
      }
      if (batch.metrics?.length) {
        await linkModelMetrics(tx, runId, batch.metrics);
        await this.insertMetrics(tx, runId, await this.withoutRelogged(tx, runId, batch.metrics));
      }
    }, ROWS);
  }

  /**
   * Appends a model to the run's `mlflow.log-model.history` tag (MLflow 2's `log_model`), reading
   * and rewriting the tag under the run's lock so concurrent calls each keep their model.
   * @throws INVALID_PARAMETER_VALUE when the history would pass the tag value limit.
   */
  async recordLoggedModel(runId: string, model: unknown): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.activeRow(tx, runId, 'update');
      const prior = await tx.get<{ value: string }>('SELECT value FROM tags WHERE run_uuid = ? AND key = ?', [
        runId,
        LOGGED_MODELS_TAG,
      ]);
      const history = prior ? parseHistory(runId, prior.value) : [];
      const value = JSON.stringify([...history, model]);
      validateTag(LOGGED_MODELS_TAG, value, LIMITS.runTagValueLength);
      await upsertKeyValues(tx, this.kv('tags', runId), [{ key: LOGGED_MODELS_TAG, value }]);
    }, ROWS);
  }

  /**
   * MLflow 3's log_model logs the run's points of the model's step again, now with the model's
   * id: the run's history keeps each of those points once (MLflow's store skips exact repeats).
   */
  private async withoutRelogged(tx: SqlExecutor, runId: string, metrics: LoggedMetric[]): Promise<Metric[]> {
    const linked = metrics.filter((m) => m.model_id);
    if (linked.length === 0) return metrics;
    const keys = [...new Set(linked.map((m) => m.key))];
    const steps = [...new Set(linked.map((m) => m.step))];
    const stored = await tx.all<MetricRow>(
      `SELECT * FROM metrics WHERE run_uuid = ? AND key IN ${placeholders(keys.length)} AND step IN ${placeholders(steps.length)}`,
      [runId, ...keys, ...steps],
    );
    const point = (m: Metric) => JSON.stringify([m.key, m.timestamp, m.step, String(m.value)]);
    const seen = new Set(stored.map((r) => point(toMetric(r))));
    return metrics.filter((m) => !m.model_id || !seen.has(point(m)));
  }

  /** Records the logged models a run produced, at the step each was logged at. */
  async logOutputs(runId: string, models: ModelOutput[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.activeRow(tx, runId, 'share');
      await linkRunModels(tx, runId, 'output', models);
    }, ROWS);
  }

  private kv(table: 'params' | 'tags', runId: string): KeyValueTable {
    return { table, ownerColumn: 'run_uuid', ownerId: runId, ownerLabel: `run ID='${runId}'` };
  }

  private async insertMetrics(tx: SqlExecutor, runId: string, metrics: Metric[]): Promise<void> {
    const rows = metrics.map((m) => {
      const nan = Number.isNaN(m.value);
      return {
        key: m.key,
        value: nan ? 0 : m.value,
        isNan: nan ? 1 : 0,
        timestamp: m.timestamp,
        step: m.step,
      };
    });
    const columns = [
      ['run_uuid', 'text'],
      ['key', 'text'],
      ['value', 'double'],
      ['is_nan', 'integer'],
      ['timestamp', 'bigint'],
      ['step', 'bigint'],
    ] as const;
    const values = (r: (typeof rows)[number]) => [runId, r.key, r.value, r.isNan, r.timestamp, r.step];
    await tx.insertMany({ table: 'metrics', columns, rows: rows.map(values) });
    // The latest point per key: highest step, then timestamp, then value (MLflow's store does the
    // same). Reduce in memory first: one statement may not update the same row twice. Key order
    // makes concurrent batches of one run lock the rows in the same order.
    const latest = new Map<string, (typeof rows)[number]>();
    for (const r of rows) {
      const cur = latest.get(r.key);
      if (!cur || isLater(r, cur)) latest.set(r.key, r);
    }
    await tx.insertMany({
      table: 'latest_metrics',
      columns,
      rows: [...latest.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map(values),
      onConflict: `ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value, is_nan = excluded.is_nan,
           timestamp = excluded.timestamp, step = excluded.step
         WHERE excluded.step > latest_metrics.step
            OR (excluded.step = latest_metrics.step AND excluded.timestamp > latest_metrics.timestamp)
            OR (excluded.step = latest_metrics.step AND excluded.timestamp = latest_metrics.timestamp AND excluded.value > latest_metrics.value)`,
    });
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.activeRow(tx, runId, 'share');
      const { changes } = await tx.run('DELETE FROM tags WHERE run_uuid = ? AND key = ?', [runId, key]);
      if (changes === 0)
        throw new KeelError('RESOURCE_DOES_NOT_EXIST', `No tag with name: ${key} in run with id ${runId}`);
    }, ROWS);
  }

  /** Datasets (stored once per experiment, name and digest) and logged models the run read. */
  async logInputs(runId: string, inputs: DatasetInputEntity[], models: ModelInput[] = []): Promise<void> {
    // Exclusive: a dataset is found or created by (experiment, name, digest) across runs.
    await this.db.transaction(async (tx) => {
      const run = await this.activeRow(tx, runId, 'share');
      await linkRunModels(tx, runId, 'input', models);
      for (const input of inputs) {
        const d = input.dataset;
        for (const [field, v] of Object.entries({
          name: d.name,
          digest: d.digest,
          source_type: d.source_type,
          source: d.source,
        })) {
          if (typeof v !== 'string' || v === '') {
            throw new KeelError(
              'INVALID_PARAMETER_VALUE',
              `Dataset field '${field}' must be a non-empty string`,
            );
          }
        }
        const found = await tx.get<{ dataset_uuid: string }>(
          'SELECT dataset_uuid FROM datasets WHERE experiment_id = ? AND name = ? AND digest = ?',
          [run.experiment_id, d.name, d.digest],
        );
        const datasetId = found?.dataset_uuid ?? newRunId();
        if (!found) {
          await tx.run(
            'INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, source_type, source, schema, profile) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
            [
              datasetId,
              run.experiment_id,
              d.name,
              d.digest,
              d.source_type,
              d.source,
              d.schema ?? null,
              d.profile ?? null,
            ],
          );
        }
        await tx.run(
          'INSERT INTO run_inputs (run_uuid, dataset_uuid, tags) VALUES (?, ?, ?) ON CONFLICT (run_uuid, dataset_uuid) DO UPDATE SET tags = excluded.tags',
          [runId, datasetId, JSON.stringify(input.tags ?? [])],
        );
      }
    });
  }

  /** The run's artifact URI, without loading its params, tags and metrics. @throws RESOURCE_DOES_NOT_EXIST */
  async artifactUri(runId: string): Promise<string> {
    return (await this.row(this.db, runId)).artifact_uri;
  }

  /** @throws RESOURCE_DOES_NOT_EXIST */
  async get(runId: string): Promise<Run> {
    const row = await this.row(this.db, runId);
    return (await this.hydrate([row]))[0];
  }

  private async hydrate(rows: RunRow[]): Promise<Run[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.run_uuid);
    const list = placeholders(ids.length);
    const [params, tags, metrics, inputs, models] = await Promise.all([
      this.db.all<KeyValue & { run_uuid: string }>(
        `SELECT run_uuid, key, value FROM params WHERE run_uuid IN ${list} ORDER BY key`,
        ids,
      ),
      this.db.all<KeyValue & { run_uuid: string }>(
        `SELECT run_uuid, key, value FROM tags WHERE run_uuid IN ${list} ORDER BY key`,
        ids,
      ),
      this.db.all<MetricRow>(`SELECT * FROM latest_metrics WHERE run_uuid IN ${list} ORDER BY key`, ids),
      this.db.all<{
        run_uuid: string;
        tags: string;
        name: string;
        digest: string;
        source_type: string;
        source: string;
        schema: string | null;
        profile: string | null;
      }>(
        `SELECT ri.run_uuid, ri.tags, d.name, d.digest, d.source_type, d.source, d.schema, d.profile
         FROM run_inputs ri JOIN datasets d ON d.dataset_uuid = ri.dataset_uuid WHERE ri.run_uuid IN ${list} ORDER BY d.name`,
        ids,
      ),
      this.db.all<ModelOutput & { run_uuid: string; direction: 'input' | 'output' }>(
        `SELECT run_uuid, model_id, direction, step FROM run_models WHERE run_uuid IN ${list} ORDER BY model_id`,
        ids,
      ),
    ]);
    const group = <T extends { run_uuid: string }>(items: T[]) => {
      const m = new Map<string, T[]>();
      for (const it of items) {
        const list = m.get(it.run_uuid);
        if (list) list.push(it);
        else m.set(it.run_uuid, [it]);
      }
      return m;
    };
    const [p, t, m, i, lm] = [group(params), group(tags), group(metrics), group(inputs), group(models)];
    const linked = (runId: string, direction: 'input' | 'output') =>
      (lm.get(runId) ?? []).filter((x) => x.direction === direction);
    return rows.map((r) => ({
      info: runInfo(r),
      data: {
        metrics: (m.get(r.run_uuid) ?? []).map(toMetric),
        params: (p.get(r.run_uuid) ?? []).map(({ key, value }) => ({ key, value })),
        tags: (t.get(r.run_uuid) ?? []).map(({ key, value }) => ({ key, value })),
      },
      inputs: {
        dataset_inputs: (i.get(r.run_uuid) ?? []).map((d) => ({
          tags: JSON.parse(d.tags) as KeyValue[],
          dataset: {
            name: d.name,
            digest: d.digest,
            source_type: d.source_type,
            source: d.source,
            ...(d.schema ? { schema: d.schema } : {}),
            ...(d.profile ? { profile: d.profile } : {}),
          },
        })),
        model_inputs: linked(r.run_uuid, 'input').map(({ model_id }) => ({ model_id })),
      },
      outputs: {
        model_outputs: linked(r.run_uuid, 'output').map(({ model_id, step }) => ({ model_id, step })),
      },
    }));
  }

  async metricHistory(
    runId: string,
    key: string,
    options: { maxResults?: number; pageToken?: string } = {},
  ): Promise<Page<Metric>> {
    await this.row(this.db, runId);
    const max = validateMaxResults(options.maxResults, 25_000, 100_000);
    const offset = decodePageToken(options.pageToken);
    const rows = await this.db.all<MetricRow>(
      'SELECT * FROM metrics WHERE run_uuid = ? AND key = ? ORDER BY step, timestamp, id LIMIT ? OFFSET ?',
      [runId, key, max + 1, offset],
    );
    const page = pageOf(rows, offset, max);
    return { items: page.items.map(toMetric), next_page_token: page.next_page_token };
  }

  /** History of one key for several runs within [startStep, endStep], at most maxResults points per run. */
  async metricHistoryBulk(
    runIds: string[],
    key: string,
    options: { startStep?: number; endStep?: number; maxResults?: number } = {},
  ): Promise<Array<Metric & { run_id: string }>> {
    if (runIds.length === 0)
      throw new KeelError('INVALID_PARAMETER_VALUE', 'run_ids must name at least one run');
    if (runIds.length > 100)
      throw new KeelError('INVALID_PARAMETER_VALUE', 'run_ids may name at most 100 runs');
    runIds.forEach(validateRunId);
    const max = validateMaxResults(options.maxResults, 320, 10_000);
    const out: Array<Metric & { run_id: string }> = [];
    for (const runId of runIds) {
      const rows = await this.db.all<MetricRow>(
        'SELECT * FROM metrics WHERE run_uuid = ? AND key = ? AND step >= ? AND step <= ? ORDER BY step, timestamp, id',
        [
          runId,
          key,
          options.startStep ?? Number.MIN_SAFE_INTEGER,
          options.endStep ?? Number.MAX_SAFE_INTEGER,
        ],
      );
      // Evenly spaced points, always keeping the first and the last.
      const pick =
        rows.length <= max
          ? rows
          : rows.filter((_, i) => i % Math.ceil(rows.length / max) === 0 || i === rows.length - 1);
      for (const r of pick) out.push({ ...toMetric(r), run_id: runId });
    }
    return out;
  }

  async search(options: {
    experimentIds: string[];
    filter?: string;
    viewType?: ViewType;
    maxResults?: number;
    orderBy?: string[];
    pageToken?: string;
  }): Promise<Page<Run>> {
    const max = validateMaxResults(options.maxResults, 1000);
    const offset = decodePageToken(options.pageToken);
    const ids = options.experimentIds.map(parseExperimentId);
    if (ids.length === 0) return { items: [] };
    const where = compileRunFilter(parseFilter(options.filter));
    const order = compileRunOrderBy((options.orderBy ?? []).map(parseOrderBy), this.db.dialect);
    const conditions = [
      `r.experiment_id IN ${placeholders(ids.length)}`,
      viewTypeCondition(options.viewType, 'r'),
      where.sql,
    ].filter(Boolean);
    const params: SqlValue[] = [...order.joins.params, ...ids, ...where.params, max + 1, offset];
    const rows = await this.db.all<RunRow>(
      `SELECT r.* FROM runs r ${order.joins.sql} WHERE ${conditions.join(' AND ')} ORDER BY ${order.orderBy.sql} LIMIT ? OFFSET ?`,
      params,
    );
    const page = pageOf(rows, offset, max);
    return { items: await this.hydrate(page.items), next_page_token: page.next_page_token };
  }
}

function parseHistory(runId: string, text: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed)) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `Run ${runId}'s tag '${LOGGED_MODELS_TAG}' is not a JSON list, so no model can be added to it: delete the tag or set it to a list`,
    );
  }
  return parsed;
}

function isLater(
  a: { step: number; timestamp: number; value: number },
  b: { step: number; timestamp: number; value: number },
) {
  if (a.step !== b.step) return a.step > b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  return a.value > b.value;
}

function runInfo(r: RunRow): RunInfo {
  return {
    run_id: r.run_uuid,
    run_uuid: r.run_uuid,
    run_name: r.name,
    experiment_id: String(r.experiment_id),
    user_id: r.user_id,
    status: r.status,
    start_time: r.start_time,
    ...(r.end_time === null ? {} : { end_time: r.end_time }),
    artifact_uri: r.artifact_uri,
    lifecycle_stage: r.lifecycle_stage,
  };
}
