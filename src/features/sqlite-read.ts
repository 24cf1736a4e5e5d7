/**
 * @module features/sqlite-read
 * The read queries of the SQLite online store: one key's record (the main thread's lookups), and
 * all keys of a view in one statement, the keys passed as one JSON array of hex strings (the
 * reader thread's, for reads too large for the event loop).
 */

/** Rows as arrays: [key hex, event_ts, created_ts, value]. */
export type ReadRow = [string, number, number | null, string];

/**
 * The read query. Given features, the value column is cut down in SQLite to a JSON object of just
 * those (`->` copies each value's JSON text as stored, so no digit changes), which keeps a read of
 * a few features of a wide view from parsing the whole record in JS. Feature names are
 * identifiers (checked at definition), so they are safe inside the SQL text.
 */
export function readSql(features?: readonly string[]): string {
  return `SELECT lower(hex(entity_key)), event_ts, created_ts, ${valueSql(features)} FROM keel_online
  WHERE view = ? AND entity_key IN (SELECT unhex(value) FROM json_each(?))`;
}

/** The read query of one key (a BLOB), rows as [event_ts, created_ts, value]: no JSON key list. */
export function readOneSql(features?: readonly string[]): string {
  return `SELECT event_ts, created_ts, ${valueSql(features)} FROM keel_online WHERE view = ? AND entity_key = ?`;
}

function valueSql(features?: readonly string[]): string {
  return features === undefined
    ? 'value'
    : `'{' || ${features.map((f, i) => `'${i ? ',' : ''}"${f}":' || coalesce(value -> '$.${f}', 'null')`).join(' || ')} || '}'`;
}

export interface ReadRequest {
  id: number;
  sql: string;
  view: string;
  /** A JSON array of hex keys. */
  keys: string;
}

export type ReadReply = { id: number; rows: ReadRow[] } | { id: number; error: string };
