/**
 * @module tracking/key-values
 * The key/value child tables that runs and logged models share the rules of: params are
 * write-once (the same value again is fine, a different one an error), tags are upserted with the
 * last of repeated keys winning. Multi-row statements are chunked under both backends' limits.
 */
import { KeelError } from '../core/index.js';
import { placeholders, type SqlExecutor } from '../storage/index.js';
import type { KeyValue } from './types.js';

/** Rows per multi-row INSERT: well under both backends' parameter limits. */
export const CHUNK = 400;

export interface KeyValueTable {
  table: string;
  /** The column naming the owner (`run_uuid`, `model_id`). */
  ownerColumn: string;
  ownerId: string;
  /** How error messages name the owner: `run ID='…'`. */
  ownerLabel: string;
}

/**
 * Inserts params not stored yet.
 * @throws INVALID_PARAMETER_VALUE when a key repeats with another value, in the request or stored.
 */
export async function insertWriteOnce(tx: SqlExecutor, t: KeyValueTable, params: KeyValue[]): Promise<void> {
  const wanted = new Map<string, string>();
  for (const p of params) {
    const prior = wanted.get(p.key);
    if (prior !== undefined && prior !== p.value) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `Duplicate parameter keys have been submitted with different values: '${p.key}' = '${prior}' and '${p.value}'`,
      );
    }
    wanted.set(p.key, p.value);
  }
  if (wanted.size === 0) return;
  const keys = [...wanted.keys()];
  const existing = await tx.all<KeyValue>(
    `SELECT key, value FROM ${t.table} WHERE ${t.ownerColumn} = ? AND key IN ${placeholders(keys.length)}`,
    [t.ownerId, ...keys],
  );
  for (const e of existing) {
    if (e.value !== wanted.get(e.key)) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `Changing param values is not allowed. Param with key='${e.key}' was already logged with value='${e.value}' for ${t.ownerLabel}. Attempted logging new value '${wanted.get(e.key)}'.`,
      );
    }
    wanted.delete(e.key);
  }
  const rows = [...wanted];
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    await tx.run(
      `INSERT INTO ${t.table} (${t.ownerColumn}, key, value) VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')}`,
      chunk.flatMap(([k, v]) => [t.ownerId, k, v]),
    );
  }
}

/** Sets tags; of repeated keys the last wins. */
export async function upsertKeyValues(tx: SqlExecutor, t: KeyValueTable, tags: KeyValue[]): Promise<void> {
  const rows = [...new Map(tags.map((tag) => [tag.key, tag.value]))];
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    await tx.run(
      `INSERT INTO ${t.table} (${t.ownerColumn}, key, value) VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')}
       ON CONFLICT (${t.ownerColumn}, key) DO UPDATE SET value = excluded.value`,
      chunk.flatMap(([k, v]) => [t.ownerId, k, v]),
    );
  }
}
