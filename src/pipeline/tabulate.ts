/**
 * @module pipeline/tabulate
 * The tables `metrics show|diff` and `params diff` print, as DVC prints them through
 * `tabulate(..., tablefmt="plain" | "github", disable_numparse=True, missingval="-")`: every cell
 * left-aligned text, a column as wide as its widest cell and at least its header plus two, plain
 * rows joined by two spaces and right-trimmed, GitHub rows as `| a | b |` under a dashed rule.
 * Values are written as DVC's `_format_field` writes them (Python `str`, floats rounded).
 */

import type { DiffResult, FilesData } from './metrics.js';
import { isDict, isList, PyDict, PyFloat, type PyValue, pyStr } from './pyvalue.js';

/** Python's `round(x, n)` for a float: half-even on the exact binary value. */
export function pyRound(x: number, n: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, Math.abs(x));
  const bits = buf.getBigUint64(0);
  const exp = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let e = exp - 1075;
  if (exp === 0) e = -1074;
  else mant |= 1n << 52n;
  // |x| = mant * 2^e, exactly.
  let num = mant * 10n ** BigInt(Math.max(n, 0));
  let den = 10n ** BigInt(Math.max(-n, 0));
  if (e >= 0) num <<= BigInt(e);
  else den <<= BigInt(-e);
  let q = num / den;
  const r2 = (num % den) * 2n;
  if (r2 > den || (r2 === den && q % 2n === 1n)) q++;
  const text = n >= 0 ? `${q}e-${n}` : `${q}e${-n}`;
  return Math.sign(x) * Number(text);
}

/** DVC's `_format_field`: floats rounded to `precision` (when given), then Python's `str`. */
export function formatField(v: PyValue, precision?: number): string {
  const fmt = (x: PyValue): PyValue => {
    if (x instanceof PyFloat && precision) return new PyFloat(pyRound(x.value, precision));
    if (isDict(x)) return new PyDict([...x].map(([k, y]) => [k, fmt(y)]));
    if (isList(x)) return x.map(fmt);
    return x;
  };
  return pyStr(fmt(v));
}

/** tabulate's `plain` (or, with `markdown`, `github`) table; nothing for no rows in plain. */
export function tabulate(headers: string[], rows: string[][], markdown = false): string {
  if (!markdown && rows.length === 0) return '';
  const cells = rows.map((r) => headers.map((_, i) => (r[i] ?? '-').trim()));
  const widths = headers.map((h, i) => Math.max(h.length + 2, ...cells.map((r) => r[i].length)));
  const pad = (row: string[]) => row.map((c, i) => c.padEnd(widths[i]));
  if (!markdown) return [pad(headers), ...cells.map(pad)].map((r) => r.join('  ').trimEnd()).join('\n');
  const line = (row: string[]) => `|${row.map((c) => ` ${c} `).join('|')}|`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return `${[line(pad(headers)), rule, ...cells.map((r) => line(pad(r)))].join('\n')}\n`;
}

/** flatten_dict's dot reducer, after lists became text (DVC's `format_dict`). */
function flattenFormatted(d: PyValue, prefix = '', out = new Map<string, PyValue>()): Map<string, PyValue> {
  if (!isDict(d)) {
    out.set(prefix, d);
    return out;
  }
  for (const [k, v] of d) {
    const key = prefix ? `${prefix}.${String(k)}` : String(k);
    if (isDict(v) && v.size > 0) flattenFormatted(v, key, out);
    else out.set(key, isList(v) ? pyStr(v) : v);
  }
  return out;
}

/** `metrics show` as a table: a row per file, a column per metric (sorted), `-` where missing. */
export function metricsTable(data: FilesData, markdown = false, precision = 5): string {
  const rows: Array<Map<string, string>> = [];
  const keys: string[] = [];
  for (const [file, r] of data) {
    if (!('data' in r)) continue;
    const row = new Map<string, string>([['Path', file]]);
    for (const [k, v] of flattenFormatted(r.data)) {
      row.set(k, formatField(v, precision));
      if (!keys.includes(k)) keys.push(k);
    }
    rows.push(row);
  }
  const headers = ['Path', ...keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))];
  return tabulate(
    headers,
    rows.map((row) => headers.map((h) => row.get(h) ?? '-')),
    markdown,
  );
}

/** `metrics diff` / `params diff` as a table (params have no Change column and no rounding). */
export function diffTable(
  diff: DiffResult,
  options: {
    title: string;
    aRev?: string;
    bRev?: string;
    markdown?: boolean;
    precision?: number;
    changes?: boolean;
  },
): string {
  const headers = ['Path', options.title, options.aRev ?? 'HEAD', options.bRev ?? 'workspace'];
  if (options.changes !== false) headers.push('Change');
  const cell = (v: PyValue | undefined) =>
    v === null || v === undefined ? '-' : formatField(v, options.precision);
  const rows: string[][] = [];
  for (const [file, keys] of diff) {
    for (const key of [...keys.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      const d = keys.get(key)!;
      const row = [file, key, cell(d.old), cell(d.new)];
      if (options.changes !== false) row.push(cell(d.diff));
      rows.push(row);
    }
  }
  return tabulate(headers, rows, options.markdown);
}
