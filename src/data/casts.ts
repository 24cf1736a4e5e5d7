/**
 * @module data/casts
 * How a text value becomes its declared type, as SQL. A value that does not parse becomes NULL
 * (never an error), so a non-NULL text with a NULL typed value is exactly a type failure.
 */
import { ident, literal } from './sql.js';
import type { ColumnSpec, ColumnType } from './types.js';

/** The DuckDB type each column type is stored as. */
export const DUCKDB_TYPES: Record<ColumnType, string> = {
  int64: 'BIGINT',
  float64: 'DOUBLE',
  string: 'VARCHAR',
  bool: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
  date: 'DATE',
};

/**
 * Timestamps are stored in UTC without a zone. A text with an offset (`+02:00`, `Z`) is converted
 * to UTC; a bare DuckDB cast to TIMESTAMP would drop the offset and keep the local clock time.
 * Text without an offset is taken as UTC. `timezone('UTC', ...)` makes this independent of the
 * session's TimeZone setting.
 */
function utcTimestampSql(raw: string, format?: string): string {
  if (!format) return `timezone('UTC', TRY_CAST(${raw} AS TIMESTAMPTZ))`;
  const parsed = `try_strptime(${raw}, ${literal(format)})`;
  // strptime gives a TIMESTAMPTZ only when the format reads a zone.
  return /%[zZ]/.test(format) ? `timezone('UTC', ${parsed})` : parsed;
}

/** The SQL expression giving `column`'s typed value from its text in the staging table. */
export function typedSql(column: ColumnSpec): string {
  const raw = ident(column.name);
  switch (column.type) {
    case 'string':
      return raw;
    case 'int64':
      // DuckDB's cast rounds '1.5' to 2; an int64 column takes whole numbers only.
      return `CASE WHEN regexp_full_match(trim(${raw}), '[+-]?[0-9]+') THEN TRY_CAST(trim(${raw}) AS BIGINT) END`;
    case 'timestamp':
      return utcTimestampSql(raw, column.format);
    case 'date':
      return column.format
        ? `CAST(try_strptime(${raw}, ${literal(column.format)}) AS DATE)`
        : `TRY_CAST(${raw} AS DATE)`;
    default:
      return `TRY_CAST(${raw} AS ${DUCKDB_TYPES[column.type]})`;
  }
}

/** The SELECT list that turns a staging table's text columns into typed columns of the same names. */
export function typedSelectList(columns: ColumnSpec[]): string {
  return columns.map((c) => `${typedSql(c)} AS ${ident(c.name)}`).join(', ');
}
