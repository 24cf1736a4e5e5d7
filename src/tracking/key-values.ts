/**
 * @module tracking/key-values
 * The key/value child tables that runs and logged models share the rules of: params are
 * write-once (the same value again is fine, a different one an error), tags are upserted with the
 * last of repeated keys winning. Rows are written in key order, so two transactions writing the
 * same keys lock them in the same order and never deadlock.
 */
import { KeelError } from '../core/index.js';
import { type BulkInsert, placeholders, type SqlExecutor } from '../storage/index.js';
import type { KeyValue } from './types.js';

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
  await tx.insertMany(keyValueRows(t, [...wanted]));
}

/** Sets tags; of repeated keys the last wins. */
export async function upsertKeyValues(tx: SqlExecutor, t: KeyValueTable, tags: KeyValue[]): Promise<void> {
  await tx.insertMany({
    ...keyValueRows(t, [...new Map(tags.map((tag) => [tag.key, tag.value]))]),
    onConflict: `ON CONFLICT (${t.ownerColumn}, key) DO UPDATE SET value = excluded.value`,
  });
}

function keyValueRows(t: KeyValueTable, entries: Array<[string, string]>): BulkInsert {
  return {
    table: t.table,
    columns: [
      [t.ownerColumn, 'text'],
      ['key', 'text'],
      ['value', 'text'],
    ],
    rows: entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [t.ownerId, k, v]),
  };
}
