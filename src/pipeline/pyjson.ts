/**
 * @module pipeline/pyjson
 * Python's `json.dumps(value, sort_keys=True)` byte for byte: DVC hashes directory manifests and
 * run-cache entries over that text, so a Keel hash only matches DVC's when the text matches too
 * (separators `", "` and `": "`, non-ASCII escaped as `\uXXXX`, floats in Python's `repr` form).
 */
import { KeelError } from '../core/index.js';

function pyFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  if (Number.isInteger(n)) return Math.abs(n) < 1e16 ? String(n) : BigInt(n).toString();
  // toExponential() without digits gives the shortest round-trip mantissa, as Python's repr does.
  const [mantissa, expText] = n.toExponential().split('e');
  const exp = Number(expText);
  if (exp >= -4 && exp < 16) return String(n);
  const sign = exp < 0 ? '-' : '+';
  return `${mantissa}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
}

const pyString = (s: string): string =>
  JSON.stringify(s).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * Serialises `value` as Python's `json.dumps(value, sort_keys=True)` would.
 * @throws KeelError INVALID_PARAMETER_VALUE for values JSON cannot hold (functions, bigint).
 */
export function pyJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return pyFloat(value);
  if (typeof value === 'string') return pyString(value);
  if (Array.isArray(value)) return `[${value.map(pyJsonDumps).join(', ')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort();
    const obj = value as Record<string, unknown>;
    return `{${keys.map((k) => `${pyString(k)}: ${pyJsonDumps(obj[k])}`).join(', ')}}`;
  }
  throw new KeelError('INVALID_PARAMETER_VALUE', `Cannot serialise a ${typeof value} as JSON`);
}
