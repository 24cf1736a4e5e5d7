/**
 * @module features/values
 * Feature values as the online stores keep them: one JSON object per record, in which int64
 * values are decimal strings (exact beyond 2^53) and non-finite doubles are "NaN", "Infinity" or
 * "-Infinity" (JSON has no such numbers). Decoding follows the view's schema, so a value comes
 * back as the same JS value the offline join gives: int64 as a number when exact, else a BigInt.
 */
import { KeelError } from '../core/index.js';
import type { FeatureValue, Schema } from './definitions.js';
import { int64Out } from './keys.js';

const NON_FINITE: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};

function encodeValue(value: FeatureValue): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}

/** Encodes one record's values (features in schema order; the payload a store keeps). */
export function encodeValues(features: readonly string[], values: Readonly<Record<string, FeatureValue>>) {
  const out: Record<string, unknown> = {};
  for (const f of features) out[f] = encodeValue(values[f] ?? null);
  return JSON.stringify(out);
}

/**
 * An encoder of rows straight from parallel arrays (materialization's hot path): `encode(columns,
 * r)` gives row r's payload, the same text `encodeValues` gives. The keys' JSON is made once, and
 * finite numbers skip `JSON.stringify` (their JSON is their `String`).
 */
export function rowEncoder(
  features: readonly string[],
): (columns: readonly (readonly unknown[])[], r: number) => string {
  const prefixes = features.map((f, i) => `${i ? ',' : '{'}${JSON.stringify(f)}:`);
  return (columns, r) => {
    let json = '';
    for (let i = 0; i < prefixes.length; i++) {
      const v = columns[i][r] as FeatureValue | undefined;
      json +=
        prefixes[i] +
        (typeof v === 'number' && Number.isFinite(v)
          ? String(v)
          : JSON.stringify(v === undefined ? null : encodeValue(v)));
    }
    return prefixes.length ? `${json}}` : '{}';
  };
}

function decodeValue(type: Schema[string], raw: unknown): FeatureValue {
  if (raw === null || raw === undefined) return null;
  if (type === 'int64') return typeof raw === 'string' ? int64Out(BigInt(raw)) : (raw as number);
  if (type === 'float64' && typeof raw === 'string') return NON_FINITE[raw] ?? Number.NaN;
  return raw as FeatureValue;
}

/**
 * Decodes a stored payload into the features asked for (absent ones are null).
 * @throws KeelError INVALID_STATE when the payload is not JSON.
 */
export function decodeValues(
  schema: Schema,
  features: readonly string[],
  payload: string,
): Record<string, FeatureValue> {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(payload);
  } catch (err) {
    throw new KeelError('INVALID_STATE', `an online record is not readable: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const out: Record<string, FeatureValue> = {};
  for (const f of features) out[f] = decodeValue(schema[f], raw[f]);
  return out;
}
