/**
 * @module data/figures
 * Numbers as check messages print them, and the examples a failing check shows.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { queryRows } from './sql.js';
import type { SourceColumns } from './stage.js';
import type { CheckExample } from './types.js';

/** How many example rows a failing check shows. */
export const EXAMPLE_LIMIT = 5;

export const count = (n: number): string => n.toLocaleString('en-US');

/** A share (0..1) as a percentage with enough digits to tell small shares apart. */
export const percent = (share: number): string => {
  const pct = share * 100;
  const digits = pct !== 0 && Math.abs(pct) < 0.1 ? 3 : pct < 10 ? 2 : 1;
  return `${pct.toFixed(digits)}%`;
};

export const share = (part: number, whole: number): number => (whole === 0 ? 0 : part / whole);

/**
 * The first rows of `fromSql` (the staging rows with `__file` and `__rid`, see `withRowIds`)
 * matching `where`, in batch order, with `valueSql` as their value and their 1-based row in
 * their source.
 */
export async function findExamples(
  conn: DuckDBConnection,
  fromSql: string,
  where: string,
  valueSql: string,
  sources: SourceColumns[],
): Promise<CheckExample[]> {
  const rows = await queryRows(
    conn,
    `SELECT __file, __rid, CAST(${valueSql} AS VARCHAR) AS value FROM ${fromSql} WHERE ${where} ORDER BY __rid LIMIT ${EXAMPLE_LIMIT}`,
  );
  return rows.map((r) => ({
    file: sources[r.__file as number].name,
    row: (r.__rid as number) - sources[r.__file as number].firstRowId + 1,
    value: (r.value as string | null) ?? null,
  }));
}

/** `row 4 of a.csv ("x"), row 9 of a.csv ("y")` for a message; missing values show no value. */
export function describeExamples(examples: CheckExample[]): string {
  return examples
    .map(
      (e) =>
        `row ${e.row}${e.file ? ` of ${e.file}` : ''}${e.value == null ? '' : ` (${JSON.stringify(e.value)})`}`,
    )
    .join(', ');
}
