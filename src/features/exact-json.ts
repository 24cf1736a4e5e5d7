/**
 * @module features/exact-json
 * JSON with exact int64s. Feast's feature server reads and writes int64 values as plain JSON
 * integers with every digit (Python ints; `proto_json` hands `int64_val` out as a number), which
 * `JSON.parse` rounds beyond 2^53. Parsing keeps such integers as BigInts; writing prints BigInts
 * as digits, and non-finite doubles as "NaN", "Infinity", "-Infinity" (proto3 JSON's spelling).
 * A large document can also be written piece by piece with turns of the event loop in between
 * (`exactJsonPieces`), so a server answering it keeps answering others.
 */
import { TimeSlicer } from '../core/index.js';

const SAFE_FAST_PATH = /\d{16}|__proto__/;
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

class ExactParser {
  private at = 0;

  constructor(private readonly text: string) {}

  document(): unknown {
    const value = this.value();
    this.space();
    if (this.at < this.text.length) this.fail('Unexpected non-whitespace character after JSON');
    return value;
  }

  private fail(message: string): never {
    throw new SyntaxError(`${message} at position ${this.at}`);
  }

  private space(): void {
    const t = this.text;
    while (this.at < t.length) {
      const c = t.charCodeAt(this.at);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return;
      this.at++;
    }
  }

  private value(): unknown {
    this.space();
    const c = this.text[this.at];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const [word, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return value;
      }
    }
    return this.fail(c === undefined ? 'Unexpected end of JSON input' : `Unexpected token '${c}'`);
  }

  private number(): number | bigint {
    NUMBER.lastIndex = this.at;
    const m = NUMBER.exec(this.text);
    if (!m) return this.fail('Invalid number');
    this.at += m[0].length;
    const n = Number(m[0]);
    return m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(n) ? BigInt(m[0]) : n;
  }

  private string(): string {
    const start = this.at;
    this.at++;
    const t = this.text;
    while (this.at < t.length && t[this.at] !== '"') this.at += t[this.at] === '\\' ? 2 : 1;
    if (this.at >= t.length) this.fail('Unterminated string in JSON');
    this.at++;
    // The native parser decodes escapes and refuses raw control characters.
    return JSON.parse(t.slice(start, this.at)) as string;
  }

  private array(): unknown[] {
    this.at++;
    const out: unknown[] = [];
    this.space();
    if (this.text[this.at] === ']') {
      this.at++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.space();
      const c = this.text[this.at++];
      if (c === ']') return out;
      if (c !== ',') this.fail(`Expected ',' or ']' after array element`);
    }
  }

  private object(): Record<string, unknown> {
    this.at++;
    const out: Record<string, unknown> = {};
    this.space();
    if (this.text[this.at] === '}') {
      this.at++;
      return out;
    }
    for (;;) {
      this.space();
      if (this.text[this.at] !== '"') this.fail('Expected property name');
      const key = this.string();
      // As Fastify's own body parser does: a __proto__ key could poison prototypes.
      if (key === '__proto__') this.fail('Object contains forbidden prototype property');
      this.space();
      if (this.text[this.at++] !== ':') this.fail(`Expected ':' after property name`);
      out[key] = this.value();
      this.space();
      const c = this.text[this.at++];
      if (c === '}') return out;
      if (c !== ',') this.fail(`Expected ',' or '}' after property value`);
    }
  }
}

/**
 * Parses JSON, keeping integers beyond 2^53 as BigInts (the native parser does the rest).
 * @throws SyntaxError for malformed JSON or a `__proto__` key.
 */
export function parseExactJson(text: string): unknown {
  return SAFE_FAST_PATH.test(text) ? new ExactParser(text).document() : JSON.parse(text);
}

function plain(value: unknown): boolean {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

function write(value: unknown, indent: string, depth: number): string | undefined {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : `"${value}"`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') return write(withJson.toJSON(), indent, depth);
  const pad = indent ? `\n${indent.repeat(depth + 1)}` : '';
  const end = indent ? `\n${indent.repeat(depth)}` : '';
  const sep = indent ? ': ' : ':';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    // Columns of plain values (the common case) go through the native writer in one call.
    if (!indent && value.every(plain)) return JSON.stringify(value);
    return `[${value.map((v) => `${pad}${write(v, indent, depth + 1) ?? 'null'}`).join(',')}${end}]`;
  }
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const out = write(v, indent, depth + 1);
    if (out !== undefined) parts.push(`${pad}${JSON.stringify(k)}${sep}${out}`);
  }
  return parts.length === 0 ? '{}' : `{${parts.join(',')}${end}}`;
}

/** JSON text of `value` with BigInts as exact integers; `indent` as JSON.stringify's space. */
export function stringifyExact(value: unknown, indent = 0): string {
  return write(value, ' '.repeat(indent), 0) ?? 'null';
}

/** Array elements written per piece by `exactJsonPieces`. */
const ELEMENTS_PER_PIECE = 4096;

const isLeaf = (value: unknown): boolean =>
  value === null || typeof value !== 'object' || typeof (value as { toJSON?: unknown }).toJSON === 'function';

/**
 * The text of `stringifyExact(value)` (compact) in pieces, a turn of the event loop taken
 * between pieces every 10 ms: objects and arrays of objects are walked member by member, other
 * values written a few thousand array elements at a time. Serializing a 100,000-entity online
 * response in one call held the event loop for ~300 ms.
 */
export async function* exactJsonPieces(
  value: unknown,
  slicer = new TimeSlicer(10, 1),
): AsyncGenerator<string> {
  if (isLeaf(value)) {
    yield write(value, '', 0) ?? 'null';
    return;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) {
      yield '[]';
      return;
    }
    yield '[';
    for (let start = 0; start < value.length; start += ELEMENTS_PER_PIECE) {
      const slice = value.slice(start, start + ELEMENTS_PER_PIECE);
      const comma = start === 0 ? '' : ',';
      if (slice.every(plain)) yield comma + JSON.stringify(slice).slice(1, -1);
      else if (slice.every(isLeaf)) yield comma + slice.map((v) => write(v, '', 1) ?? 'null').join(',');
      else {
        for (let i = 0; i < slice.length; i++) {
          if (start + i > 0) yield ',';
          yield* exactJsonPieces(slice[i], slicer);
        }
        continue;
      }
      if (slicer.due()) await slicer.turn();
    }
    yield ']';
    return;
  }
  let first = true;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    // Members JSON leaves out, as `write` does.
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    yield `${first ? '{' : ','}${JSON.stringify(k)}:`;
    first = false;
    yield* exactJsonPieces(v, slicer);
  }
  yield first ? '{}' : '}';
}
