/**
 * @module data/column-checks
 * Per-column checks (type, not_null / missing, range, allowed), all counted by one aggregate
 * query over the staging table; examples are fetched only for the checks that fail.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { typedSql } from './casts.js';
import { count, describeExamples, findExamples, percent, share } from './figures.js';
import { ident, literal, queryRows } from './sql.js';
import { type SourceColumns, withRowIds } from './stage.js';
import type { CheckResult, ColumnSpec, ValidationRules } from './types.js';

/** One countable condition on a column, with how to judge and describe its count. */
interface Condition {
  check: string;
  column: ColumnSpec;
  where: string;
  /** The value an example shows. */
  valueSql: string;
  judge(n: number, rows: number): Omit<CheckResult, 'check' | 'column' | 'examples'>;
}

function conditionsFor(column: ColumnSpec, rules: ValidationRules): Condition[] {
  const raw = ident(column.name);
  const typed = `(${typedSql(column)})`;
  const name = `column '${column.name}'`;
  const out: Condition[] = [];
  // Every text is a string: a string column cannot fail its type.
  if (column.type !== 'string')
    out.push({
      check: 'type',
      column,
      where: `${raw} IS NOT NULL AND ${typed} IS NULL`,
      valueSql: raw,
      judge: (n, rows) => ({
        passed: n === 0,
        observed: n,
        threshold: 0,
        count: n,
        message: `${name}: ${count(n)} of ${count(rows)} values (${percent(share(n, rows))}) are not ${column.type}${column.format ? ` in format '${column.format}'` : ''}`,
      }),
    });
  if (column.nullable === false) {
    out.push({
      check: 'not_null',
      column,
      where: `${raw} IS NULL`,
      valueSql: 'NULL',
      judge: (n, rows) => ({
        passed: n === 0,
        observed: n,
        threshold: 0,
        count: n,
        message: `${name} (not nullable): ${count(n)} of ${count(rows)} rows (${percent(share(n, rows))}) have no value`,
      }),
    });
  } else {
    const limit = column.maxMissingShare ?? rules.maxMissingShare;
    out.push({
      check: 'missing',
      column,
      where: `${raw} IS NULL`,
      valueSql: 'NULL',
      judge: (n, rows) => {
        const observed = share(n, rows);
        const passed = limit === undefined || observed <= limit;
        return {
          passed,
          observed,
          threshold: limit ?? null,
          count: n,
          message: `${name}: ${count(n)} of ${count(rows)} values missing (${percent(observed)}), limit ${limit === undefined ? 'none' : percent(limit)}`,
        };
      },
    });
  }
  if (column.min !== undefined || column.max !== undefined) {
    const bounds = [
      column.min === undefined ? undefined : `${typed} < ${column.min}`,
      column.max === undefined ? undefined : `${typed} > ${column.max}`,
    ].filter(Boolean);
    const range = `${column.min ?? '-inf'}..${column.max ?? 'inf'}`;
    out.push({
      check: 'range',
      column,
      where: bounds.join(' OR '),
      valueSql: raw,
      judge: (n, rows) => ({
        passed: n === 0,
        observed: n,
        threshold: range,
        count: n,
        message: `${name}: ${count(n)} of ${count(rows)} values (${percent(share(n, rows))}) are outside ${range}`,
      }),
    });
  }
  if (column.allowed) {
    const list = column.allowed.map(literal).join(', ');
    out.push({
      check: 'allowed',
      column,
      where: `${raw} IS NOT NULL AND ${raw} NOT IN (${list})`,
      valueSql: raw,
      judge: (n, rows) => ({
        passed: n === 0,
        observed: n,
        threshold: column.allowed!.join('|'),
        count: n,
        message: `${name}: ${count(n)} of ${count(rows)} values (${percent(share(n, rows))}) are not one of ${column.allowed!.join(', ')}`,
      }),
    });
  }
  return out;
}

/**
 * Runs the column checks over the staging `table` for `columns` present in the input.
 * `sources` are the batch's sources, to name the file and row of examples.
 */
export async function checkColumns(
  conn: DuckDBConnection,
  table: string,
  columns: ColumnSpec[],
  rules: ValidationRules,
  sources: SourceColumns[],
): Promise<{ rows: number; checks: CheckResult[] }> {
  const conditions = columns.flatMap((c) => conditionsFor(c, rules));
  const counts = conditions.map((c, i) => `count_if(${c.where}) AS c${i}`);
  const [agg] = await queryRows(
    conn,
    `SELECT ${['count(*) AS n', ...counts].join(', ')} FROM ${ident(table)}`,
  );
  const rows = agg.n as number;
  const checks: CheckResult[] = [];
  for (const [i, condition] of conditions.entries()) {
    const n = (agg[`c${i}`] as number | null) ?? 0;
    const result: CheckResult = {
      check: condition.check,
      column: condition.column.name,
      ...condition.judge(n, rows),
    };
    if (!result.passed && n > 0) {
      result.examples = await findExamples(
        conn,
        withRowIds(table),
        condition.where,
        condition.valueSql,
        sources,
      );
      result.message += `, e.g. ${describeExamples(result.examples.slice(0, 3))}`;
    }
    checks.push(result);
  }
  return { rows, checks };
}
