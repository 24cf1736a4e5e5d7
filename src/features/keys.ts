/**
 * @module features/keys
 * Entity keys: values parsed strictly by the entity's declared type, and serialized exactly as
 * Feast serializes an `EntityKey` (version 3 of `serialize_entity_key`): the number of keys, then
 * each join key name (type, byte length, UTF-8), sorted, then each value (type, byte length,
 * bytes; int64 as 8 little-endian bytes). Every part is length-prefixed, so no two keys collide,
 * whatever characters a string key holds. Keys travel inside Keel as the lowercase hex of those bytes.
 */
import { invalid } from '../core/index.js';
import { ident } from '../data/index.js';
import type { Entity } from './definitions.js';

/** Feast's `ValueType` numbers that appear in serialized keys. */
const STRING = 2;
const INT64 = 4;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** An int64 as Keel hands it out: a number when it is exact as one, else a BigInt. */
export type Int64 = number | bigint;

/** A BigInt as a number when the number is exact, else the BigInt itself. */
export function int64Out(value: bigint): Int64 {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;
}

/**
 * An int64 from a JS value: a safe-integer number or a BigInt in range. Anything else (booleans,
 * strings such as "1" or "0x1", fractions, numbers beyond 2^53 that may already have lost digits)
 * is refused: a key must name exactly one entity.
 * @throws KeelError INVALID_PARAMETER_VALUE naming `what`.
 */
export function toInt64(value: unknown, what: string): bigint {
  if (typeof value === 'bigint') {
    if (value >= INT64_MIN && value <= INT64_MAX) return value;
    throw invalid(`${what} is out of the int64 range: ${value}`);
  }
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isInteger(value)) {
    throw invalid(
      `${what} is ${value}, beyond 2^53 where a JS number may have lost digits: send it as a JSON integer or a BigInt`,
    );
  }
  throw invalid(`${what} must be an int64, got ${describe(value)}`);
}

/** Parses decimal text (the CLI's `--entity k=v`) as an int64: digits only, optional minus sign. */
export function int64FromText(text: string, what: string): bigint {
  if (!/^-?\d+$/.test(text)) throw invalid(`${what} must be an integer, got '${text}'`);
  return toInt64(BigInt(text), what);
}

export function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return value === undefined ? 'nothing' : `${typeof value} ${JSON.stringify(value)}`;
}

/**
 * One join key's value, checked against the entity's declared type: int64 keys take integers
 * (see `toInt64`), string keys take strings only.
 * @throws KeelError INVALID_PARAMETER_VALUE for a missing or wrongly typed value.
 */
export function keyValue(entity: Entity, raw: unknown, where = ''): bigint | string {
  const what = `entity key '${entity.joinKey}'${where}`;
  if (raw === undefined || raw === null) throw invalid(`${what} is missing`);
  if (entity.valueType === 'int64') return toInt64(raw, what);
  if (typeof raw !== 'string') throw invalid(`${what} must be a string, got ${describe(raw)}`);
  return raw;
}

const byJoinKey = (entities: readonly Entity[]) =>
  [...entities].sort((a, b) => (a.joinKey < b.joinKey ? -1 : a.joinKey > b.joinKey ? 1 : 0));

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(n);
  return b;
}

/** The key-name half of a view's serialized keys; the same for every entity of the view. */
function namesPart(sorted: readonly Entity[]): Buffer {
  const parts = [u32(sorted.length)];
  for (const e of sorted) {
    const name = Buffer.from(e.joinKey, 'utf8');
    parts.push(u32(STRING), u32(name.length), name);
  }
  return Buffer.concat(parts);
}

function valuePart(value: bigint | string): Buffer {
  if (typeof value === 'bigint') {
    const b = Buffer.allocUnsafe(16);
    b.writeUInt32LE(INT64, 0);
    b.writeUInt32LE(8, 4);
    b.writeBigInt64LE(value, 8);
    return b;
  }
  const bytes = Buffer.from(value, 'utf8');
  return Buffer.concat([u32(STRING), u32(bytes.length), bytes]);
}

/**
 * Serializes the entity keys of one view, reusing the key-name half. `keyOf(row)` gives the
 * hex key of a row of join-key values (already parsed, see `keyValue`).
 */
export function keySerializer(
  entities: readonly Entity[],
): (values: Readonly<Record<string, bigint | string>>) => string {
  const sorted = byJoinKey(entities);
  const names = namesPart(sorted);
  if (sorted.length === 1 && sorted[0].valueType === 'int64') {
    // The common case, on the hot path of materialization: one buffer, one hex conversion.
    const key = sorted[0].joinKey;
    const out = Buffer.alloc(names.length + 16);
    names.copy(out);
    out.writeUInt32LE(INT64, names.length);
    out.writeUInt32LE(8, names.length + 4);
    return (values) => {
      out.writeBigInt64LE(values[key] as bigint, names.length + 8);
      return out.toString('hex');
    };
  }
  if (sorted.length === 1) {
    const key = sorted[0].joinKey;
    return (values) => Buffer.concat([names, valuePart(values[key])]).toString('hex');
  }
  return (values) =>
    Buffer.concat([names, ...sorted.map((e) => valuePart(values[e.joinKey]))]).toString('hex');
}

/**
 * The serialized key (hex) of one entity row for a view's entities; values are parsed strictly.
 * @throws KeelError INVALID_PARAMETER_VALUE for a missing or wrongly typed key.
 */
export function entityKey(entities: readonly Entity[], row: Readonly<Record<string, unknown>>): string {
  const values: Record<string, bigint | string> = {};
  for (const e of entities) values[e.joinKey] = keyValue(e, row[e.joinKey]);
  return keySerializer(entities)(values);
}

/** `x` (an integer SQL expression) with its `bytes` low bytes reversed, as a UBIGINT. */
function littleEndianOrder(x: string, bytes: number): string {
  return Array.from(
    { length: bytes },
    (_, i) => `((((${x}) >> ${8 * i}) & 255)::UBIGINT << ${8 * (bytes - 1 - i)})`,
  ).join(' | ');
}

/**
 * ORDER BY terms (DuckDB SQL over the join-key columns, typed as declared) that sort rows as
 * their serialized keys sort bytewise, which is the SQLite online store's index order: upserts
 * in that order take half the CPU of upserts in numeric key order (int64 values are stored little
 * endian, so numeric order is scattered over the index). Only the order depends on this; keys
 * are still serialized by `keySerializer`.
 */
export function keyOrderSql(entities: readonly Entity[]): string {
  return byJoinKey(entities)
    .flatMap((e) => {
      const column = ident(e.joinKey);
      return e.valueType === 'int64'
        ? [littleEndianOrder(column, 8)]
        : [littleEndianOrder(`strlen(${column})`, 4), column];
    })
    .join(', ');
}
