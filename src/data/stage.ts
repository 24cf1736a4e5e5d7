/**
 * @module data/stage
 * Loads a batch into one DuckDB staging table of text columns named as the spec names them, plus
 * `__file` (index into the batch's sources). Sources are inserted in order, so a row's `rowid`
 * minus its source's first rowid is its place in the file (no window function needed to number
 * rows). Every check then runs over this one table, and the partition is written from it.
 */
import { statSync } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import { KeelError, type ProgressFn } from '../core/index.js';
import type { CsvOptions } from './csv.js';
import { detectFormat, readerSql } from './formats.js';
import { ident, literal, queryRows } from './sql.js';
import type { ColumnSpec, DataFormat } from './types.js';

/** One input of a batch: a name to report it by and the SQL that reads it (undefined: no data). */
export interface StageSource {
  name: string;
  fromSql?: string;
}

/** What each source held against the spec, for the `columns` check. */
export interface SourceColumns {
  name: string;
  missing: string[];
  extra: string[];
  /** The staging table's rowid of this source's first row. */
  firstRowId: number;
}

export interface StagedBatch {
  table: string;
  rows: number;
  sources: SourceColumns[];
}

/**
 * Turns input files into stage sources, checking that each exists. A zero-byte file becomes a
 * source with no data, so the `columns` check reports it with the rest of the batch.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST for a missing file, INVALID_PARAMETER_VALUE for a
 * folder or an unknown extension.
 */
export function fileSources(paths: string[], format?: DataFormat, csv?: CsvOptions): StageSource[] {
  if (paths.length === 0) throw new KeelError('INVALID_PARAMETER_VALUE', 'No input files given');
  return paths.map((path) => {
    let size: number;
    try {
      const stat = statSync(path);
      if (!stat.isFile()) throw new KeelError('INVALID_PARAMETER_VALUE', `Input '${path}' is not a file`);
      size = stat.size;
    } catch (err) {
      if (err instanceof KeelError) throw err;
      throw new KeelError('RESOURCE_DOES_NOT_EXIST', `Input file '${path}' does not exist`, { cause: err });
    }
    const fileFormat = format ?? detectFormat(path);
    return { name: path, fromSql: size === 0 ? undefined : readerSql(path, fileFormat, csv) };
  });
}

interface InputColumn {
  name: string;
  type: string;
}

async function sourceColumns(conn: DuckDBConnection, source: StageSource): Promise<InputColumn[]> {
  if (!source.fromSql) return [];
  try {
    const rows = await queryRows(conn, `DESCRIBE SELECT * FROM ${source.fromSql}`);
    return rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
  } catch (err) {
    throw unreadable(source, err);
  }
}

/** DuckDB's reason a source cannot be read; its long lists of possible fixes stay in the cause. */
function unreadable(source: StageSource, err: unknown): KeelError {
  const reason = (err as Error).message.split('\n').slice(0, 2).join(' ');
  return new KeelError('INVALID_PARAMETER_VALUE', `Cannot read '${source.name}': ${reason}`, { cause: err });
}

/**
 * Creates `table` and loads every source into it, reporting one progress step per source.
 * @throws KeelError INVALID_PARAMETER_VALUE when DuckDB cannot read a source.
 */
export async function stageSources(
  conn: DuckDBConnection,
  table: string,
  sources: StageSource[],
  columns: ColumnSpec[],
  options: {
    rename?: Record<string, string>;
    nullValues?: string[];
    onProgress?: ProgressFn;
    label?: string;
  } = {},
): Promise<StagedBatch> {
  const specNames = columns.map((c) => c.name);
  const colDefs = specNames.map((n) => `${ident(n)} VARCHAR`).join(', ');
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${ident(table)} (__file INTEGER, ${colDefs})`);
  const nulls = ['', ...(options.nullValues ?? [])].map(literal).join(', ');
  const found: SourceColumns[] = [];
  let rows = 0;
  for (const [index, source] of sources.entries()) {
    // Input column by spec name, after renaming.
    const bySpec = new Map<string, InputColumn>();
    const extra: string[] = [];
    for (const input of await sourceColumns(conn, source)) {
      const target = options.rename?.[input.name] ?? input.name;
      if (specNames.includes(target)) bySpec.set(target, input);
      else extra.push(input.name);
    }
    found.push({
      name: source.name,
      missing: specNames.filter((n) => !bySpec.has(n)),
      extra,
      firstRowId: rows,
    });
    if (source.fromSql) {
      const values = specNames.map((n) => {
        const input = bySpec.get(n);
        if (input === undefined) return 'NULL';
        // JSON whose values mix types comes as a JSON column: unquote its strings.
        const text =
          input.type === 'JSON'
            ? `json_extract_string(${ident(input.name)}, '$')`
            : `CAST(${ident(input.name)} AS VARCHAR)`;
        return `CASE WHEN ${text} IN (${nulls}) THEN NULL ELSE ${text} END`;
      });
      const inserted = await queryRows(
        conn,
        `INSERT INTO ${ident(table)} SELECT ${index}, ${values.join(', ')} FROM ${source.fromSql}`,
      ).catch((err: unknown) => {
        throw unreadable(source, err);
      });
      rows += Number(inserted[0]?.Count ?? 0);
    }
    options.onProgress?.({
      label: options.label ?? 'read',
      done: index + 1,
      total: sources.length,
      unit: 'files',
      info: `${rows} rows`,
    });
  }
  return { table, rows, sources: found };
}

/** The staging table with each row's rowid as `__rid`, as `findExamples` reads it. */
export const withRowIds = (table: string): string => `(SELECT *, rowid AS __rid FROM ${ident(table)})`;
