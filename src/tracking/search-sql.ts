/**
 * @module tracking/search-sql
 * Compiles parsed filters and order_by clauses into portable SQL over the tracking tables. Runs
 * are `r` (runs), experiments `e`, logged models `lm`. Values always travel as parameters, never
 * inside the SQL text.
 */
import { KeelError, own } from '../core/index.js';
import type { Dialect, SqlValue } from '../storage/index.js';
import { type Clause, type OrderBy, parseOrderBy } from './filter.js';

export interface SqlFragment {
  sql: string;
  params: SqlValue[];
}

const bad = (message: string) => new KeelError('INVALID_PARAMETER_VALUE', message);

const NUMERIC_OPS = new Set(['=', '!=', '>', '>=', '<', '<=']);
const STRING_OPS = new Set(['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN']);

/** `col <op> ?` for one comparator; LIKE is case-sensitive on both backends, ILIKE is not. */
function compare(column: string, clause: Clause): SqlFragment {
  const { comparator: op, value } = clause;
  if (op === 'IN' || op === 'NOT IN') {
    const list = value as string[];
    return { sql: `${column} ${op} (${list.map(() => '?').join(', ')})`, params: list };
  }
  if (op === 'ILIKE') return { sql: `LOWER(${column}) LIKE LOWER(?)`, params: [value as string] };
  return { sql: `${column} ${op} ?`, params: [value as SqlValue] };
}

function requireString(clause: Clause, what: string): void {
  if (!STRING_OPS.has(clause.comparator)) {
    throw bad(
      `Invalid comparator '${clause.comparator}' for ${what} '${clause.key}': use one of ${[...STRING_OPS].join(', ')}`,
    );
  }
  if (typeof clause.value === 'number') {
    throw bad(
      `${what} '${clause.key}' is compared with the unquoted value ${clause.value}: ${what} values are strings, quote it`,
    );
  }
}

/** Filters a key/value child table (params, tags, experiment_tags) by EXISTS on the owner. */
function keyValueClause(
  table: string,
  owner: string,
  ownerColumn: string,
  clause: Clause,
  what: string,
): SqlFragment {
  const base = `SELECT 1 FROM ${table} kv WHERE kv.${ownerColumn} = ${owner} AND kv.key = ?`;
  if (clause.comparator === 'IS NULL') return { sql: `NOT EXISTS (${base})`, params: [clause.key] };
  if (clause.comparator === 'IS NOT NULL') return { sql: `EXISTS (${base})`, params: [clause.key] };
  requireString(clause, what);
  const cmp = compare('kv.value', clause);
  return { sql: `EXISTS (${base} AND ${cmp.sql})`, params: [clause.key, ...cmp.params] };
}

const RUN_METRIC = 'SELECT 1 FROM latest_metrics lm WHERE lm.run_uuid = r.run_uuid AND lm.key = ?';

const RUN_ATTRIBUTES: Record<string, { column: string; numeric: boolean }> = {
  run_id: { column: 'r.run_uuid', numeric: false },
  run_uuid: { column: 'r.run_uuid', numeric: false },
  run_name: { column: 'r.name', numeric: false },
  status: { column: 'r.status', numeric: false },
  user_id: { column: 'r.user_id', numeric: false },
  artifact_uri: { column: 'r.artifact_uri', numeric: false },
  lifecycle_stage: { column: 'r.lifecycle_stage', numeric: false },
  start_time: { column: 'r.start_time', numeric: true },
  end_time: { column: 'r.end_time', numeric: true },
  created: { column: 'r.start_time', numeric: true },
  experiment_id: { column: 'r.experiment_id', numeric: true },
};

function attributeClause(attrs: typeof RUN_ATTRIBUTES, clause: Clause): SqlFragment {
  const attr = own(attrs, clause.key);
  if (!attr) {
    throw bad(`Invalid attribute key '${clause.key}': valid keys are ${Object.keys(attrs).join(', ')}`);
  }
  if (clause.comparator === 'IS NULL' || clause.comparator === 'IS NOT NULL') {
    return { sql: `${attr.column} ${clause.comparator}`, params: [] };
  }
  if (attr.numeric) {
    if (!NUMERIC_OPS.has(clause.comparator) || typeof clause.value !== 'number') {
      throw bad(`Attribute '${clause.key}' takes a number and one of ${[...NUMERIC_OPS].join(', ')}`);
    }
  } else requireString(clause, 'attribute');
  return compare(attr.column, clause);
}

/** `EXISTS` over a metric table `base` (its key bound first), numbers only, NaN points never matching. */
function metricClause(clause: Clause, base: string, alias: string, also?: SqlFragment): SqlFragment {
  const head = {
    sql: also ? `${base} AND ${also.sql}` : base,
    params: [clause.key, ...(also?.params ?? [])],
  };
  if (clause.comparator === 'IS NULL') return { sql: `NOT EXISTS (${head.sql})`, params: head.params };
  if (clause.comparator === 'IS NOT NULL') return { sql: `EXISTS (${head.sql})`, params: head.params };
  if (!NUMERIC_OPS.has(clause.comparator) || typeof clause.value !== 'number') {
    throw bad(
      `Metric '${clause.key}' is compared with numbers only, using one of ${[...NUMERIC_OPS].join(', ')}`,
    );
  }
  const cmp = compare(`${alias}.value`, clause);
  return {
    sql: `EXISTS (${head.sql} AND ${alias}.is_nan = 0 AND ${cmp.sql})`,
    params: [...head.params, ...cmp.params],
  };
}

function datasetClause(clause: Clause): SqlFragment {
  const column = own({ name: 'd.name', digest: 'd.digest' }, clause.key);
  if (!column) throw bad(`Invalid dataset key '${clause.key}': use datasets.name or datasets.digest`);
  requireString(clause, 'dataset');
  const cmp = compare(column, clause);
  return {
    sql: `EXISTS (SELECT 1 FROM run_inputs ri JOIN datasets d ON d.dataset_uuid = ri.dataset_uuid WHERE ri.run_uuid = r.run_uuid AND ${cmp.sql})`,
    params: cmp.params,
  };
}

function join(fragments: SqlFragment[]): SqlFragment {
  return { sql: fragments.map((f) => f.sql).join(' AND '), params: fragments.flatMap((f) => f.params) };
}

export function compileRunFilter(clauses: Clause[]): SqlFragment {
  return join(
    clauses.map((c) => {
      switch (c.type) {
        case 'metric':
          return metricClause(c, RUN_METRIC, 'lm');
        case 'param':
          return keyValueClause('params', 'r.run_uuid', 'run_uuid', c, 'param');
        case 'tag':
          return keyValueClause('tags', 'r.run_uuid', 'run_uuid', c, 'tag');
        case 'dataset':
          return datasetClause(c);
        default:
          return attributeClause(RUN_ATTRIBUTES, c);
      }
    }),
  );
}

/** Missing values sort last in both directions, as MLflow does. */
function orderExpression(expr: SqlFragment, ascending: boolean): SqlFragment {
  return {
    sql: `CASE WHEN ${expr.sql} IS NULL THEN 1 ELSE 0 END, ${expr.sql} ${ascending ? 'ASC' : 'DESC'}`,
    params: [...expr.params, ...expr.params],
  };
}

/** A run search's ordering: LEFT JOINs bringing each sort key's row in, and the ORDER BY over them. */
export interface RunOrder {
  joins: SqlFragment;
  orderBy: SqlFragment;
}

/**
 * Each metric, param or tag key is one LEFT JOIN on its table's primary key (run_uuid, key), so a
 * run's value is looked up once rather than in a subquery per ORDER BY term. Metrics rank as
 * MLflow's SQL store ranks them in both directions: numbers, then NaN, then runs without the key.
 * On SQLite, metric joins name the covering (key, run_uuid, value, is_nan) index: without table
 * statistics its planner takes the primary key and reads every run's row, several times slower.
 */
export function compileRunOrderBy(orderBy: OrderBy[], dialect: Dialect): RunOrder {
  const joins: SqlFragment[] = [];
  const parts = orderBy.map((o, i) => {
    if (o.type === 'metric' || o.type === 'param' || o.type === 'tag') {
      const alias = `o${i}`;
      const table = o.type === 'metric' ? 'latest_metrics' : o.type === 'param' ? 'params' : 'tags';
      const hint = o.type === 'metric' && dialect === 'sqlite' ? ' INDEXED BY latest_metrics_key' : '';
      joins.push({
        sql: `LEFT JOIN ${table} ${alias}${hint} ON ${alias}.run_uuid = r.run_uuid AND ${alias}.key = ?`,
        params: [o.key],
      });
      const column = `${alias}.value`;
      const rank =
        o.type === 'metric'
          ? `CASE WHEN ${alias}.is_nan = 1 THEN 1 WHEN ${column} IS NULL THEN 2 ELSE 0 END`
          : `CASE WHEN ${column} IS NULL THEN 1 ELSE 0 END`;
      return `${rank}, ${column} ${o.ascending ? 'ASC' : 'DESC'}`;
    }
    const attr = own(RUN_ATTRIBUTES, o.key);
    if (!attr || o.type === 'dataset') throw bad(`Invalid order_by key '${o.key}'`);
    return orderExpression({ sql: attr.column, params: [] }, o.ascending).sql;
  });
  // Ties: newest first, then by id, so pages never overlap.
  parts.push('r.start_time DESC, r.run_uuid ASC');
  return {
    joins: { sql: joins.map((j) => j.sql).join(' '), params: joins.flatMap((j) => j.params) },
    orderBy: { sql: parts.join(', '), params: [] },
  };
}

const EXPERIMENT_ATTRIBUTES: Record<string, { column: string; numeric: boolean }> = {
  name: { column: 'e.name', numeric: false },
  experiment_id: { column: 'e.experiment_id', numeric: true },
  creation_time: { column: 'e.creation_time', numeric: true },
  last_update_time: { column: 'e.last_update_time', numeric: true },
};

export function compileExperimentFilter(clauses: Clause[]): SqlFragment {
  return join(
    clauses.map((c) => {
      if (c.type === 'tag')
        return keyValueClause('experiment_tags', 'e.experiment_id', 'experiment_id', c, 'tag');
      if (c.type !== 'attribute')
        throw bad(`Experiments can be filtered by attributes and tags only, not '${c.type}'`);
      return attributeClause(EXPERIMENT_ATTRIBUTES, c);
    }),
  );
}

export function compileExperimentOrderBy(orderBy: OrderBy[]): SqlFragment {
  const parts = orderBy.map((o) => {
    const attr = own(EXPERIMENT_ATTRIBUTES, o.key);
    if (o.type !== 'attribute' || !attr) throw bad(`Invalid order_by key '${o.key}' for experiments`);
    return `${attr.column} ${o.ascending ? 'ASC' : 'DESC'}`;
  });
  parts.push('e.experiment_id ASC');
  return { sql: parts.join(', '), params: [] };
}

/** A logged-model search's `datasets`: metric clauses then count points measured on one of them. */
export interface DatasetRef {
  dataset_name: string;
  dataset_digest?: string;
}

const MODEL_METRIC = 'SELECT 1 FROM logged_model_metrics mm WHERE mm.model_id = lm.model_id AND mm.key = ?';

const LOGGED_MODEL_ATTRIBUTES: Record<string, { column: string; numeric: boolean }> = {
  model_id: { column: 'lm.model_id', numeric: false },
  name: { column: 'lm.name', numeric: false },
  status: { column: 'lm.status', numeric: false },
  model_type: { column: 'lm.model_type', numeric: false },
  source_run_id: { column: 'lm.source_run_id', numeric: false },
  artifact_location: { column: 'lm.artifact_location', numeric: false },
  creation_timestamp_ms: { column: 'lm.creation_timestamp_ms', numeric: true },
  last_updated_timestamp_ms: { column: 'lm.last_updated_timestamp_ms', numeric: true },
  // MLflow's aliases (SqlLoggedModel.ALIASES).
  creation_time: { column: 'lm.creation_timestamp_ms', numeric: true },
  creation_timestamp: { column: 'lm.creation_timestamp_ms', numeric: true },
  last_updated_timestamp: { column: 'lm.last_updated_timestamp_ms', numeric: true },
};

/** `(mm.dataset_name = ? AND mm.dataset_digest = ?) OR ...` over the given datasets. */
function datasetScope(datasets: DatasetRef[]): SqlFragment | undefined {
  if (datasets.length === 0) return undefined;
  const parts = datasets.map((d) =>
    d.dataset_digest
      ? { sql: '(mm.dataset_name = ? AND mm.dataset_digest = ?)', params: [d.dataset_name, d.dataset_digest] }
      : { sql: 'mm.dataset_name = ?', params: [d.dataset_name] },
  );
  return { sql: `(${parts.map((p) => p.sql).join(' OR ')})`, params: parts.flatMap((p) => p.params) };
}

/**
 * Logged models are `lm`. Metric clauses match any linked point (on the given datasets, if any);
 * datasets without a metric clause keep the models with some point on one of them, as MLflow does.
 */
export function compileLoggedModelFilter(clauses: Clause[], datasets: DatasetRef[] = []): SqlFragment {
  const scope = datasetScope(datasets);
  const fragments = clauses.map((c) => {
    switch (c.type) {
      case 'metric':
        return metricClause(c, MODEL_METRIC, 'mm', scope);
      case 'param':
        return keyValueClause('logged_model_params', 'lm.model_id', 'model_id', c, 'param');
      case 'tag':
        return keyValueClause('logged_model_tags', 'lm.model_id', 'model_id', c, 'tag');
      case 'attribute':
        return attributeClause(LOGGED_MODEL_ATTRIBUTES, c);
      default:
        throw bad(`Logged models can be filtered by attributes, metrics, params and tags, not '${c.type}'`);
    }
  });
  if (scope && !clauses.some((c) => c.type === 'metric')) {
    fragments.push({
      sql: `EXISTS (SELECT 1 FROM logged_model_metrics mm WHERE mm.model_id = lm.model_id AND ${scope.sql})`,
      params: scope.params,
    });
  }
  return join(fragments);
}

/** One entry of a logged-model search's `order_by`, as the proto's OrderBy message has it. */
export interface LoggedModelOrder {
  field_name: string;
  ascending?: boolean;
  dataset_name?: string;
  dataset_digest?: string;
}

/**
 * Attributes or `metrics.<key>` (the model's latest point for that key, on the dataset named, if
 * any). Missing values sort last; ties go to the newest model, then to the id, so pages never overlap.
 */
export function compileLoggedModelOrderBy(orderBy: LoggedModelOrder[]): SqlFragment {
  let byCreation = false;
  const parts = orderBy.map((o) => {
    const { type, key } = parseOrderBy(o.field_name);
    let expr: SqlFragment;
    if (type === 'metric') {
      const scope = datasetScope(
        o.dataset_name ? [{ dataset_name: o.dataset_name, dataset_digest: o.dataset_digest }] : [],
      );
      expr = {
        sql: `(SELECT CASE WHEN mm.is_nan = 1 THEN NULL ELSE mm.value END FROM logged_model_metrics mm WHERE mm.model_id = lm.model_id AND mm.key = ?${scope ? ` AND ${scope.sql}` : ''} ORDER BY mm.timestamp DESC, mm.step DESC LIMIT 1)`,
        params: [key, ...(scope?.params ?? [])],
      };
    } else {
      const attr = own(LOGGED_MODEL_ATTRIBUTES, key);
      if (type !== 'attribute' || !attr) {
        throw bad(`Invalid order_by field_name '${o.field_name}': use an attribute or metrics.<key>`);
      }
      if (attr.column === 'lm.creation_timestamp_ms') byCreation = true;
      expr = { sql: attr.column, params: [] };
    }
    return orderExpression(expr, o.ascending ?? true);
  });
  parts.push({ sql: `${byCreation ? '' : 'lm.creation_timestamp_ms DESC, '}lm.model_id ASC`, params: [] });
  return { sql: parts.map((p) => p.sql).join(', '), params: parts.flatMap((p) => p.params) };
}
