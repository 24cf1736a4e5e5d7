/**
 * @module features/sqlite-read
 * The one read query of the SQLite online store, shared by the main thread and its reader thread:
 * all keys of a view in one statement, the keys passed as one JSON array of hex strings.
 */

/** Rows as arrays: [key hex, event_ts, created_ts, value]. */
export type ReadRow = [string, number, number | null, string];

export const READ_SQL = `SELECT lower(hex(entity_key)), event_ts, created_ts, value FROM keel_online
  WHERE view = ? AND entity_key IN (SELECT unhex(value) FROM json_each(?))`;

export interface ReadRequest {
  id: number;
  view: string;
  /** A JSON array of hex keys. */
  keys: string;
}

export type ReadReply = { id: number; rows: ReadRow[] } | { id: number; error: string };
