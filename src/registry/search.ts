/**
 * @module registry/search
 * MLflow's registry search filters and order_by, compiled to SQL over `registered_models m` and
 * `model_versions v`: `name LIKE '%churn%'`, `name = 'x'`, `run_id = '...'`, `tags.k = 'v'`,
 * `version_number > 2`. Values always travel as parameters.
 *
 * Missing tags follow MLflow's SQL store: a clause on a tag matches only rows that have the tag
 * (`tags.team != 'x'` skips models without `team`), with one exception MLflow makes for prompts.
 * Models and versions tagged `mlflow.prompt.is_prompt = 'true'` are MLflow prompts, left out of
 * every search unless the filter asks for them (`= 'true'` or `!= 'false'` on that tag); any other
 * clause on that tag is dropped. The MLflow 3 client adds `` tag.`mlflow.prompt.is_prompt` != 'true' ``
 * to every search, which therefore returns the ordinary models.
 */
import { KeelError, own } from '../core/index.js';
import type { SqlValue } from '../storage/index.js';
import { type Clause, parseFilter, parseOrderBy } from '../tracking/index.js';

export interface SqlFragment {
  sql: string;
  params: SqlValue[];
}

interface Attribute {
  column: string;
  numeric: boolean;
}

export interface SearchTarget {
  what: string;
  alias: string;
  tagTable: string;
  /** The owner's key columns in the tag table, paired with the owner's columns. */
  tagJoin: Array<[string, string]>;
  attributes: Record<string, Attribute>;
  /** Always-appended order so pages never overlap. */
  tieBreak: string;
}

export const MODEL_SEARCH: SearchTarget = {
  what: 'registered models',
  alias: 'm',
  tagTable: 'registered_model_tags',
  tagJoin: [['name', 'm.name']],
  attributes: {
    name: { column: 'm.name', numeric: false },
    creation_timestamp: { column: 'm.creation_timestamp', numeric: true },
    last_updated_timestamp: { column: 'm.last_updated_timestamp', numeric: true },
  },
  tieBreak: 'm.name ASC',
};

export const VERSION_SEARCH: SearchTarget = {
  what: 'model versions',
  alias: 'v',
  tagTable: 'model_version_tags',
  tagJoin: [
    ['name', 'v.name'],
    ['version', 'v.version'],
  ],
  attributes: {
    name: { column: 'v.name', numeric: false },
    version_number: { column: 'v.version', numeric: true },
    run_id: { column: 'v.run_id', numeric: false },
    source_path: { column: 'v.source', numeric: false },
    current_stage: { column: 'v.current_stage', numeric: false },
    user_id: { column: 'v.user_id', numeric: false },
    creation_timestamp: { column: 'v.creation_timestamp', numeric: true },
    last_updated_timestamp: { column: 'v.last_updated_timestamp', numeric: true },
  },
  tieBreak: 'v.name ASC, v.version DESC',
};

const bad = (message: string) => new KeelError('INVALID_PARAMETER_VALUE', message);

function comparison(column: string, clause: Clause, numeric: boolean): SqlFragment {
  const { comparator: op, value } = clause;
  const allowed = numeric
    ? ['=', '!=', '>', '>=', '<', '<=', 'IN', 'NOT IN']
    : ['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'];
  if (!allowed.includes(op)) {
    throw bad(`Invalid comparator '${op}' for '${clause.key}': use one of ${allowed.join(', ')}`);
  }
  if (Array.isArray(value)) {
    const list = numeric ? value.map(Number) : value;
    return { sql: `${column} ${op} (${list.map(() => '?').join(', ')})`, params: list };
  }
  if (numeric !== (typeof value === 'number')) {
    throw bad(
      `'${clause.key}' takes ${numeric ? 'a number' : "a quoted string, e.g. 'x'"}, got ${String(value)}`,
    );
  }
  if (op === 'ILIKE') return { sql: `LOWER(${column}) LIKE LOWER(?)`, params: [value as string] };
  return { sql: `${column} ${op} ?`, params: [value as SqlValue] };
}

function clauseSql(target: SearchTarget, clause: Clause): SqlFragment {
  if (clause.type === 'tag') {
    const on = target.tagJoin.map(([col, owner]) => `t.${col} = ${owner}`).join(' AND ');
    const base = `SELECT 1 FROM ${target.tagTable} t WHERE ${on} AND t.key = ?`;
    if (clause.comparator === 'IS NULL') return { sql: `NOT EXISTS (${base})`, params: [clause.key] };
    if (clause.comparator === 'IS NOT NULL') return { sql: `EXISTS (${base})`, params: [clause.key] };
    const cmp = comparison('t.value', clause, false);
    return { sql: `EXISTS (${base} AND ${cmp.sql})`, params: [clause.key, ...cmp.params] };
  }
  const attr = clause.type === 'attribute' ? own(target.attributes, clause.key) : undefined;
  if (!attr) {
    throw bad(
      `Invalid filter key '${clause.key}' for ${target.what}: use ${Object.keys(target.attributes).join(', ')} or tags.<key>`,
    );
  }
  return comparison(attr.column, clause, attr.numeric);
}

/** The tag that makes a registered model (and its versions) an MLflow prompt. */
export const IS_PROMPT_TAG = 'mlflow.prompt.is_prompt';

const isPromptClause = (c: Clause) => c.type === 'tag' && c.key === IS_PROMPT_TAG;

/** MLflow's `_is_querying_prompt`: the first clause on the prompt tag decides. */
function queriesPrompts(clauses: Clause[]): boolean {
  const first = clauses.find(isPromptClause);
  const value = typeof first?.value === 'string' ? first.value.toLowerCase() : undefined;
  return (first?.comparator === '=' && value === 'true') || (first?.comparator === '!=' && value === 'false');
}

/** The WHERE condition ('' for no filter). @throws INVALID_PARAMETER_VALUE naming the bad clause. */
export function compileFilter(target: SearchTarget, filter: string | undefined): SqlFragment {
  let clauses = parseFilter(filter);
  const parts: SqlFragment[] = [];
  if (!queriesPrompts(clauses)) {
    clauses = clauses.filter((c) => !isPromptClause(c));
    // By model name, as MLflow's anti-join does: a model one of whose versions is a prompt is one.
    const [nameColumn, owner] = target.tagJoin[0];
    parts.push({
      sql: `NOT EXISTS (SELECT 1 FROM ${target.tagTable} p WHERE p.${nameColumn} = ${owner} AND p.key = ? AND p.value = ?)`,
      params: [IS_PROMPT_TAG, 'true'],
    });
  }
  parts.push(...clauses.map((c) => clauseSql(target, c)));
  return { sql: parts.map((p) => p.sql).join(' AND '), params: parts.flatMap((p) => p.params) };
}

/** The ORDER BY list, with the target's tie-break appended. */
export function compileOrderBy(
  target: SearchTarget,
  orderBy: readonly string[] | undefined,
  fallback: string,
): string {
  const clauses = (orderBy?.length ? orderBy : [fallback]).map((text) => {
    const o = parseOrderBy(text);
    const attr = o.type === 'attribute' ? own(target.attributes, o.key) : undefined;
    if (!attr) throw bad(`Invalid order_by key '${o.key}' for ${target.what}`);
    return `${attr.column} ${o.ascending ? 'ASC' : 'DESC'}`;
  });
  return [...clauses, target.tieBreak].join(', ');
}

/** `max_results` within [1, limit]. @throws INVALID_PARAMETER_VALUE */
export function validateMax(max: number | undefined, fallback: number, limit: number): number {
  const n = max ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > limit) {
    throw bad(`max_results must be an integer between 1 and ${limit}, got ${String(max)}`);
  }
  return n;
}
