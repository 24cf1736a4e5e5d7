/**
 * @module tracking/search-sql
 * Compiles parsed filters and order_by clauses into portable SQL over the tracking tables. Runs
 * are `r` (runs), experiments `e`. Values always travel as parameters, never inside the SQL text.
 */
import { KeelError } from '../core/index.js';
import type { SqlValue } from '../storage/index.js';
import type { Clause, OrderBy } from './filter.js';

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
  const attr = attrs[clause.key];
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

function metricClause(clause: Clause): SqlFragment {
  const base = 'SELECT 1 FROM latest_metrics lm WHERE lm.run_uuid = r.run_uuid AND lm.key = ?';
  if (clause.comparator === 'IS NULL') return { sql: `NOT EXISTS (${base})`, params: [clause.key] };
  if (clause.comparator === 'IS NOT NULL') return { sql: `EXISTS (${base})`, params: [clause.key] };
  if (!NUMERIC_OPS.has(clause.comparator) || typeof clause.value !== 'number') {
    throw bad(
      `Metric '${clause.key}' is compared with numbers only, using one of ${[...NUMERIC_OPS].join(', ')}`,
    );
  }
  const cmp = compare('lm.value', clause);
  return { sql: `EXISTS (${base} AND lm.is_nan = 0 AND ${cmp.sql})`, params: [clause.key, ...cmp.params] };
}

function datasetClause(clause: Clause): SqlFragment {
  const column = { name: 'd.name', digest: 'd.digest' }[clause.key];
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
          return metricClause(c);
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

export function compileRunOrderBy(orderBy: OrderBy[]): SqlFragment {
  const parts = orderBy.map((o) => {
    let expr: SqlFragment;
    if (o.type === 'metric') {
      expr = {
        sql: '(SELECT lm.value FROM latest_metrics lm WHERE lm.run_uuid = r.run_uuid AND lm.key = ?)',
        params: [o.key],
      };
    } else if (o.type === 'param' || o.type === 'tag') {
      const table = o.type === 'param' ? 'params' : 'tags';
      expr = {
        sql: `(SELECT kv.value FROM ${table} kv WHERE kv.run_uuid = r.run_uuid AND kv.key = ?)`,
        params: [o.key],
      };
    } else {
      const attr = RUN_ATTRIBUTES[o.key];
      if (!attr || o.type === 'dataset') throw bad(`Invalid order_by key '${o.key}'`);
      expr = { sql: attr.column, params: [] };
    }
    return orderExpression(expr, o.ascending);
  });
  // Ties: newest first, then by id, so pages never overlap.
  parts.push({ sql: 'r.start_time DESC, r.run_uuid ASC', params: [] });
  return { sql: parts.map((p) => p.sql).join(', '), params: parts.flatMap((p) => p.params) };
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
    const attr = EXPERIMENT_ATTRIBUTES[o.key];
    if (o.type !== 'attribute' || !attr) throw bad(`Invalid order_by key '${o.key}' for experiments`);
    return `${attr.column} ${o.ascending ? 'ASC' : 'DESC'}`;
  });
  parts.push('e.experiment_id ASC');
  return { sql: parts.join(', '), params: [] };
}
