/**
 * @module features/push
 * Feast's push: columnar rows written straight into the online store, checked against the view's
 * schema first, so a bad column is refused before anything is written.
 */
import { invalid } from '../core/index.js';
import { type FeatureValue, type FeatureView, fitsType, type ValueType } from './definitions.js';
import { entityKey, type OnlineStore, type OnlineWriteRow } from './online-store.js';
import { toEpochMs } from './time.js';

function coerce(type: ValueType, value: unknown, what: string): FeatureValue {
  const v = value === undefined ? null : value;
  if (!fitsType(type, v)) throw invalid(`${what} must be ${type}, got ${JSON.stringify(value)}`);
  return v;
}

/**
 * Validates and writes pushed rows; returns how many were written.
 * @throws KeelError INVALID_PARAMETER_VALUE naming the column and row of the first bad value.
 */
export async function pushRows(
  store: OnlineStore,
  view: FeatureView,
  columns: Readonly<Record<string, readonly unknown[]>>,
): Promise<number> {
  const { timestampField, createdTimestampField } = view.source;
  const lengths = new Set(Object.values(columns).map((c) => c.length));
  if (lengths.size !== 1) throw invalid(`push to ${view.name}: columns differ in length or are missing`);
  const n = [...lengths][0];
  for (const needed of [...view.entities.map((e) => e.joinKey), timestampField]) {
    if (!Object.hasOwn(columns, needed)) throw invalid(`push to ${view.name}: column '${needed}' is missing`);
  }
  const unknown = Object.keys(columns).filter(
    (c) =>
      !Object.hasOwn(view.schema, c) &&
      c !== timestampField &&
      c !== createdTimestampField &&
      !view.entities.some((e) => e.joinKey === c),
  );
  if (unknown.length > 0) throw invalid(`push to ${view.name}: unknown columns ${unknown.join(', ')}`);
  const features = Object.keys(view.schema).filter((f) => Object.hasOwn(columns, f));
  const rows: OnlineWriteRow[] = [];
  for (let i = 0; i < n; i++) {
    const row = Object.fromEntries(Object.entries(columns).map(([k, v]) => [k, v[i]]));
    const values: Record<string, FeatureValue> = {};
    for (const f of features) values[f] = coerce(view.schema[f], row[f], `push to ${view.name}: ${f}[${i}]`);
    const created = createdTimestampField ? row[createdTimestampField] : undefined;
    rows.push({
      entityKey: entityKey(view.entities, row),
      record: {
        eventTs: toEpochMs(row[timestampField], `push to ${view.name}: ${timestampField}[${i}]`),
        createdTs:
          created == null
            ? undefined
            : toEpochMs(created, `push to ${view.name}: ${createdTimestampField}[${i}]`),
        values,
      },
    });
  }
  await store.onlineWrite(view.name, rows);
  return n;
}
