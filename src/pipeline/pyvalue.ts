/**
 * @module pipeline/pyvalue
 * Values as Python holds them after DVC reads a YAML or JSON file, because DVC's bytes depend on
 * Python's types: `1.0` stays a float (`1.0`, not `1`), an int beyond 2^53 stays exact, a mapping
 * keeps its keys' types and order (`0: a` is an int key). Python ints are JS numbers (bigint
 * beyond 2^53), floats are `PyFloat`, mappings are `PyDict`.
 */
import { KeelError } from '../core/index.js';

/** A Python float: kept apart from ints, which JS numbers are. */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** A Python `datetime.date` (a YAML `2024-01-05`), kept as its ISO text. */
export class PyDate {
  constructor(readonly iso: string) {}
}

export type PyKey = string | number | bigint | boolean | null | PyFloat | PyDate;
export type PyValue = null | boolean | number | bigint | string | PyFloat | PyDate | PyValue[] | PyDict;

/** A Python dict: insertion-ordered, keys of any scalar type. */
export class PyDict extends Map<PyKey, PyValue> {
  /** A dict from string keys (plain object entries keep their order). */
  static of(entries: Iterable<[PyKey, PyValue]> | Record<string, PyValue>): PyDict {
    return new PyDict(Symbol.iterator in entries ? entries : Object.entries(entries));
  }
}

export const isDict = (v: unknown): v is PyDict => v instanceof PyDict;
export const isList = (v: unknown): v is PyValue[] => Array.isArray(v);

/** A Python int from a JS integer or bigint: a number when exact, else a bigint. */
export function pyInt(n: number | bigint): number | bigint {
  if (typeof n === 'number') return n;
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/** The numeric value of an int, float or bool (Python treats bools as 0 and 1), else undefined. */
export function numberOf(v: PyValue): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof PyFloat) return v.value;
  return undefined;
}

const isNumeric = (v: PyValue): boolean =>
  typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v instanceof PyFloat;

function numbersEqual(a: PyValue, b: PyValue): boolean {
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    const exact = (v: PyValue) =>
      typeof v === 'bigint' ? v : Number.isInteger(numberOf(v)) ? BigInt(numberOf(v) as number) : undefined;
    const x = exact(a);
    const y = exact(b);
    return x !== undefined && y !== undefined && x === y;
  }
  return numberOf(a) === numberOf(b);
}

/** Python's `==`: 1 == 1.0 == True, lists element-wise, dicts by key set and values. */
export function pyEquals(a: PyValue, b: PyValue): boolean {
  if (a === b) return true;
  if (a instanceof PyDate && b instanceof PyDate) return a.iso === b.iso;
  if (isNumeric(a) && isNumeric(b)) return numbersEqual(a, b);
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => pyEquals(x, b[i]));
  }
  if (a instanceof PyDict && b instanceof PyDict) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) {
      const other = dictGet(b, k);
      if (other === undefined || !pyEquals(v, other)) return false;
    }
    return true;
  }
  return false;
}

/** `d[key]` with Python's key equality (1, 1.0 and True are one key); undefined when missing. */
export function dictGet(d: PyDict, key: PyKey): PyValue | undefined {
  if (d.has(key)) return d.get(key);
  if (typeof key === 'string' || key === null) return undefined;
  for (const [k, v] of d) if (k !== null && typeof k !== 'string' && pyEquals(k, key)) return v;
  return undefined;
}

/** Python's `repr(float)`: the shortest text that reads back to the same double. */
export function pyFloatRepr(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const [mantissa, expText] = n.toExponential().split('e');
  const exp = Number(expText);
  if (exp < -4 || exp >= 16)
    return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  const text = n.toFixed(Math.max(0, mantissa.replace(/^-?\d\.?/, '').length - exp));
  return text.includes('.') ? text : `${text}.0`;
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** Python's `repr(str)`. */
export function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code >= 0x20 && code < 0x7f) out += ch;
    else if (code >= 0x7f && PRINTABLE.test(ch) && code !== 0xa0) out += ch;
    else if (code <= 0xff) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return out + quote;
}

/** Python's `repr()` of a value. */
export function pyRepr(v: PyValue): string {
  if (typeof v === 'string') return pyStrRepr(v);
  if (v instanceof PyDate) return `datetime.date(${v.iso.split('-').map(Number).join(', ')})`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (v instanceof PyDict) return `{${[...v].map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  return pyStr(v);
}

/** Python's `str()` of a value. */
export function pyStr(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  if (v instanceof PyDate) return v.iso;
  if (typeof v === 'string') return v;
  return pyRepr(v);
}

function jsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function jsonKey(k: PyKey): string {
  if (typeof k === 'string') return k;
  if (k instanceof PyDate) return k.iso;
  if (k === null) return 'null';
  if (typeof k === 'boolean') return k ? 'true' : 'false';
  return pyStr(k);
}

/** Options of {@link pyJsonDumps}. */
export interface JsonDumpOptions {
  sortKeys?: boolean;
}

/**
 * Python's `json.dumps(value)` byte for byte (separators `", "` and `": "`, `ensure_ascii`, floats
 * in `repr` form, `NaN`/`Infinity`); `sortKeys` as `sort_keys=True`.
 */
export function pyJsonDumps(value: PyValue, options: JsonDumpOptions = {}): string {
  const dump = (v: PyValue): string => {
    if (v === null) return 'null';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'number' || typeof v === 'bigint') return String(v);
    if (v instanceof PyFloat) {
      if (Number.isNaN(v.value)) return 'NaN';
      if (!Number.isFinite(v.value)) return v.value > 0 ? 'Infinity' : '-Infinity';
      return pyFloatRepr(v.value);
    }
    if (typeof v === 'string') return jsonString(v);
    // DVC prints dates through its JSON default (their ISO text).
    if (v instanceof PyDate) return jsonString(v.iso);
    if (Array.isArray(v)) return `[${v.map(dump).join(', ')}]`;
    if (v instanceof PyDict) {
      const entries = [...v].map(([k, x]): [string, PyValue] => [jsonKey(k), x]);
      if (options.sortKeys) entries.sort(([a], [b]) => codepointCompare(a, b));
      return `{${entries.map(([k, x]) => `${jsonString(k)}: ${dump(x)}`).join(', ')}}`;
    }
    throw new KeelError('INVALID_PARAMETER_VALUE', `Cannot serialise a ${typeof v} as JSON`);
  };
  return dump(value);
}

/** Python's string order (by code point; JS compares UTF-16 units). */
export function codepointCompare(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/**
 * A plain JS value as a Python value: integral numbers become ints, others floats; objects dicts.
 * For values Keel computes itself (a metric difference is a float when either side is).
 */
export function fromJs(v: unknown): PyValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean' || typeof v === 'string' || typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? v : new PyFloat(v);
  if (v instanceof PyFloat || v instanceof PyDict) return v;
  if (Array.isArray(v)) return v.map(fromJs);
  if (typeof v === 'object')
    return PyDict.of(
      Object.entries(v as Record<string, unknown>).map(([k, x]): [PyKey, PyValue] => [k, fromJs(x)]),
    );
  throw new KeelError('INVALID_PARAMETER_VALUE', `Cannot hold a ${typeof v} as a value`);
}

/** A Python value as plain JSON-able JS (floats as numbers, big ints as numbers, dict keys as text). */
export function toJs(v: PyValue): unknown {
  if (v instanceof PyFloat) return v.value;
  if (v instanceof PyDate) return v.iso;
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(toJs);
  if (v instanceof PyDict) return Object.fromEntries([...v].map(([k, x]) => [jsonKey(k), toJs(x)]));
  return v;
}
