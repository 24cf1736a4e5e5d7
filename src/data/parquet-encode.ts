/**
 * @module data/parquet-encode
 * A Parquet file (format 1, one row group, one page per column, uncompressed) encoded from columns
 * already in memory. The prediction log writes its files with it: staging its rows in DuckDB and
 * writing them with `COPY` cost 0.6-1 us of CPU a row on this machine (a 100-row request's log
 * was a fifth of its CPU), most of it in the staging tables, the join of per-request values to
 * their rows and the Parquet writer's per-value dictionaries and statistics. Here numbers are
 * written as they are held (PLAIN: the typed array's bytes), and what repeats (a request's id,
 * time, version for each of its rows) is written once, as a dictionary entry with a run of rows.
 *
 * The schema is the one DuckDB writes for the same SQL types, so a reader cannot tell the files
 * apart: every column OPTIONAL; INT32 (INT_32), FLOAT, DOUBLE, BOOLEAN, BYTE_ARRAY (UTF8), INT64
 * TIMESTAMP (microseconds, not adjusted to UTC), as DuckDB's TIMESTAMP. Each column chunk has its
 * null count and, where it has values, its min and max.
 */
import { ByteSink, CompactWriter } from './thrift-compact.js';

/** A column's type: `timestamp` values are ms since the epoch, written as microseconds. */
export type ParquetType = 'int32' | 'float' | 'double' | 'timestamp' | 'boolean' | 'string';

/**
 * One column. Missing values: NaN in `float`, `double` and `timestamp` columns, null in
 * `boolean` and `string` ones; `int32` columns have none.
 */
export interface ParquetColumn {
  name: string;
  type: ParquetType;
  values: Int32Array | Float32Array | Float64Array | ReadonlyArray<string | boolean | null>;
  /** When given, `values[i]` stands for `runs[i]` consecutive rows (a request's value for each of its rows). */
  runs?: Int32Array;
}

/** parquet.thrift's numbers. */
const PHYSICAL: Record<ParquetType, number> = {
  boolean: 0,
  int32: 1,
  timestamp: 2,
  float: 4,
  double: 5,
  string: 6,
};
const CONVERTED: Partial<Record<ParquetType, number>> = { string: 0, timestamp: 10, int32: 17 };
const OPTIONAL = 1;
const UNCOMPRESSED = 0;
const PLAIN = 0;
const RLE = 3;
const RLE_DICTIONARY = 8;
const DATA_PAGE = 0;
const DICTIONARY_PAGE = 2;
const MAGIC = new TextEncoder().encode('PAR1');

/**
 * The bytes of a Parquet file holding `columns`, each of `rows` rows, as the parts to write one
 * after another (typed arrays' bytes are shared, not copied). A generator that pauses after each
 * column and returns the parts at its end, so a caller on a server's event loop can let requests
 * in between columns.
 * @throws Error when a column does not hold `rows` rows, or two columns have one name (readers
 *   disagree on such a file: DuckDB renames the second, others refuse it).
 */
export function* encodeParquet(
  columns: readonly ParquetColumn[],
  rows: number,
): Generator<void, Uint8Array[], void> {
  const names = new Set<string>();
  for (const { name } of columns) {
    if (names.has(name)) throw new Error(`Parquet column ${name} is named twice`);
    names.add(name);
  }
  const parts: Uint8Array[] = [MAGIC];
  let offset = MAGIC.length;
  const chunks: ChunkMeta[] = [];
  for (const column of columns) {
    const held = column.runs ? sum(column.runs) : column.values.length;
    if (held !== rows) throw new Error(`Parquet column ${column.name} holds ${held} rows, not ${rows}`);
    const encoded = encodeColumn(column, rows);
    const meta: ChunkMeta = { column, encoded, start: offset, dataOffset: offset, size: 0 };
    for (const page of encoded.pages) {
      if (page.kind === DATA_PAGE) meta.dataOffset = offset;
      const header = pageHeader(page);
      parts.push(header, ...page.body);
      offset += header.length + page.size;
    }
    meta.size = offset - meta.start;
    chunks.push(meta);
    yield;
  }
  const footer = fileMetadata(chunks, rows);
  const tail = new Uint8Array(8);
  new DataView(tail.buffer).setUint32(0, footer.length, true);
  tail.set(MAGIC, 4);
  parts.push(footer, tail);
  return parts;
}

interface Page {
  kind: typeof DATA_PAGE | typeof DICTIONARY_PAGE;
  body: Uint8Array[];
  size: number;
  /** Values in the page: the dictionary's entries, or the rows (nulls included). */
  count: number;
  /** How a data page's values are encoded: PLAIN, or RLE_DICTIONARY (indices). */
  encoding: number;
}

interface EncodedColumn {
  pages: Page[];
  encodings: number[];
  nulls: number;
  /** PLAIN bytes of the least and greatest value; absent when every value is missing. */
  min?: Uint8Array;
  max?: Uint8Array;
}

interface ChunkMeta {
  column: ParquetColumn;
  encoded: EncodedColumn;
  start: number;
  dataOffset: number;
  size: number;
}

const sum = (xs: Int32Array): number => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s;
};

/** A column's pages: dictionary-encoded for text and for values given per run, PLAIN otherwise. */
function encodeColumn(column: ParquetColumn, rows: number): EncodedColumn {
  if (column.type === 'string' || (column.runs && column.type !== 'boolean'))
    return dictionaryColumn(column, rows);
  return plainColumn(column, rows);
}

/**
 * Definition levels (1: a value, 0: missing) as RLE runs, merged as they come; written with the
 * 4-byte length a v1 data page puts before them.
 */
class Levels {
  private readonly runs = new ByteSink();
  private state = -1;
  private count = 0;
  nulls = 0;

  add(present: boolean, count: number): void {
    if (count === 0) return;
    if (!present) this.nulls += count;
    const state = present ? 1 : 0;
    if (state === this.state) {
      this.count += count;
      return;
    }
    this.flush();
    this.state = state;
    this.count = count;
  }

  bytes(): Uint8Array {
    this.flush();
    const out = new Uint8Array(4 + this.runs.length);
    new DataView(out.buffer).setUint32(0, this.runs.length, true);
    out.set(this.runs.view(), 4);
    return out;
  }

  private flush(): void {
    if (this.count > 0) rleRun(this.runs, this.state, this.count, 1);
    this.count = 0;
  }
}

/** One RLE run of the RLE/bit-packing hybrid: `count` repeats of `value`, `width` bits wide. */
function rleRun(out: ByteSink, value: number, count: number, width: number): void {
  out.varint(count * 2);
  for (let b = 0; b < Math.ceil(width / 8); b++) out.byte((value >>> (8 * b)) & 0xff);
}

/** A number PLAIN-encoded alone (a statistic's bound). */
function plainNumber(type: ParquetType, value: number): Uint8Array {
  const sink = new ByteSink();
  return sink.copy(0, writePlain(sink, type, value));
}

/**
 * ms since the epoch as microseconds, written as int64 (exact while |ms| < 2^53 / 1000, about
 * 285,000 years).
 */
const micros = (ms: number): number => Math.round(ms) * 1000;

/**
 * A typed array's bytes, which Parquet wants little-endian: they are on every machine Keel runs
 * on (ONNX Runtime's Node binaries are built for x64 and arm64 only).
 */
const bytesOf = (values: Int32Array | Float32Array | Float64Array): Uint8Array =>
  new Uint8Array(values.buffer, values.byteOffset, values.byteLength);

/** Least and greatest of numbers, -0 as the least and +0 as the greatest zero (as the format asks). */
function numberBounds(type: ParquetType, lo: number, hi: number): { min?: Uint8Array; max?: Uint8Array } {
  if (lo > hi) return {};
  return { min: plainNumber(type, lo === 0 ? -0 : lo), max: plainNumber(type, hi === 0 ? 0 : hi) };
}

/** PLAIN values, one per row: numbers as their array's bytes, booleans one bit each. */
function plainColumn(column: ParquetColumn, rows: number): EncodedColumn {
  const levels = new Levels();
  let body: Uint8Array;
  let bounds: { min?: Uint8Array; max?: Uint8Array };
  if (column.type === 'boolean') ({ body, bounds } = plainBooleans(column, levels));
  else if (column.type === 'timestamp')
    ({ body, bounds } = plainTimestamps(column.values as Float64Array, levels));
  else {
    const values = column.values as Int32Array | Float32Array | Float64Array;
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    let missing = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      if (Number.isNaN(v)) missing++;
    }
    let present = values;
    if (missing === 0) levels.add(true, values.length);
    else {
      // Only the values that are there are written; the levels say which rows they are.
      present = new (values.constructor as Float64ArrayConstructor)(values.length - missing);
      let k = 0;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        const there = !Number.isNaN(v);
        levels.add(there, 1);
        if (there) present[k++] = v;
      }
    }
    body = bytesOf(present);
    bounds = numberBounds(column.type, lo, hi);
  }
  const defs = levels.bytes();
  return {
    pages: [
      { kind: DATA_PAGE, body: [defs, body], size: defs.length + body.length, count: rows, encoding: PLAIN },
    ],
    encodings: [PLAIN, RLE],
    nulls: levels.nulls,
    ...bounds,
  };
}

function plainTimestamps(values: Float64Array, levels: Levels) {
  const out = new ByteSink(values.length * 8);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    levels.add(!Number.isNaN(v), 1);
    if (Number.isNaN(v)) continue;
    out.i64(micros(v));
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return { body: out.view(), bounds: numberBounds('timestamp', lo, hi) };
}

/** Booleans bit-packed, first value in the lowest bit; values given per run are repeated. */
function plainBooleans(column: ParquetColumn, levels: Levels) {
  const values = column.values as ReadonlyArray<boolean | null>;
  const runs = column.runs;
  const bits = new Uint8Array(Math.ceil((runs ? sum(runs) : values.length) / 8));
  let k = 0;
  let seen = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const count = runs ? runs[i] : 1;
    levels.add(v !== null, count);
    if (v === null) continue;
    seen |= v ? 2 : 1;
    if (v) for (let r = k; r < k + count; r++) bits[r >> 3] |= 1 << (r & 7);
    k += count;
  }
  const bounds =
    seen === 0 ? {} : { min: Uint8Array.of(seen & 1 ? 0 : 1), max: Uint8Array.of(seen & 2 ? 1 : 0) };
  return { body: bits.subarray(0, Math.ceil(k / 8)), bounds };
}

/**
 * Distinct values a dictionary indexes. Past them (request ids and times: a value per request) a
 * new value becomes an entry without joining the index, since a Map of 50,000 entries cost more
 * than the rest of the encoding; values indexed before (versions, flags) are still found, and a
 * value repeated over consecutive runs is one entry. An entry may then be written twice, which
 * the format allows (the dictionary is a list its indices point into).
 */
const INDEXED_ENTRIES = 1024;

/**
 * A dictionary page of the values (PLAIN; each once, up to INDEXED_ENTRIES of them) and a data
 * page of their indices as RLE runs: a value repeated over a run of rows costs one run, whatever
 * its length.
 */
function dictionaryColumn(column: ParquetColumn, rows: number): EncodedColumn {
  const { type, values, runs } = column;
  const levels = new Levels();
  // Map keys treat -0 as 0: a -0 given per run is written as 0.
  const index = new Map<number | string, number>();
  let entries = 0;
  let lastValue: number | string | undefined;
  // Entries are written PLAIN as they are first met, straight into the page's bytes.
  const dictionary = new ByteSink();
  const bounds = new EntryBounds(type, dictionary);
  const indices = new ByteSink();
  let last = -1;
  let count = 0;
  const width = (n: number) => Math.max(1, 32 - Math.clz32(n - 1));
  // Indices are collected as (index, count) pairs first: their width depends on the dictionary's size.
  const pairs: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number | string | null;
    const n = runs ? runs[i] : 1;
    const present = v !== null && !Number.isNaN(v);
    levels.add(present, n);
    if (!present || n === 0) continue;
    let at = v === lastValue ? last : index.get(v);
    if (at === undefined) {
      at = entries++;
      if (index.size < INDEXED_ENTRIES) index.set(v, at);
      bounds.add(v, dictionary.length, writePlain(dictionary, type, v));
    }
    lastValue = v;
    if (at === last) count += n;
    else {
      if (count > 0) pairs.push(last, count);
      last = at;
      count = n;
    }
  }
  if (count > 0) pairs.push(last, count);
  const bits = width(entries);
  indices.byte(bits);
  for (let p = 0; p < pairs.length; p += 2) rleRun(indices, pairs[p], pairs[p + 1], bits);
  const defs = levels.bytes();
  const data = indices.view();
  return {
    pages: [
      {
        kind: DICTIONARY_PAGE,
        body: [dictionary.view()],
        size: dictionary.length,
        count: entries,
        encoding: PLAIN,
      },
      {
        kind: DATA_PAGE,
        body: [defs, data],
        size: defs.length + data.length,
        count: rows,
        encoding: RLE_DICTIONARY,
      },
    ],
    encodings: [PLAIN, RLE, RLE_DICTIONARY],
    nulls: levels.nulls,
    ...bounds.result(),
  };
}

/** Writes `value` PLAIN at the end of `sink`; answers where its bytes end. */
function writePlain(sink: ByteSink, type: ParquetType, value: number | string | boolean): number {
  switch (type) {
    case 'string':
      sink.lengthPrefixedUtf8(value as string);
      break;
    case 'boolean':
      sink.byte(value ? 1 : 0);
      break;
    case 'double':
      sink.f64(value as number);
      break;
    case 'float':
      sink.f32(value as number);
      break;
    case 'int32':
      sink.i32(value as number);
      break;
    case 'timestamp':
      sink.i64(micros(value as number));
  }
  return sink.length;
}

/** A UTF-16 surrogate: where JavaScript's order of strings parts from their UTF-8 bytes' order. */
const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * Least and greatest entries of a dictionary as they are written: numbers by value, text by its
 * UTF-8 bytes (unsigned, as the format orders it). Text without surrogates orders the same as
 * JavaScript strings, compared in place; text with one is compared by its bytes in the page.
 */
class EntryBounds {
  private lo = Number.POSITIVE_INFINITY;
  private hi = Number.NEGATIVE_INFINITY;
  /** The least and greatest text so far (see BoundText). */
  private min: BoundText | undefined;
  private max: BoundText | undefined;

  constructor(
    private readonly type: ParquetType,
    private readonly page: ByteSink,
  ) {}

  add(value: number | string, start: number, end: number): void {
    if (this.type !== 'string') {
      const v = value as number;
      if (v < this.lo) this.lo = v;
      if (v > this.hi) this.hi = v;
      return;
    }
    const text = value as string;
    const from = start + 4;
    const odd = SURROGATE.test(text);
    if (!this.min || this.order(text, odd, from, end, this.min) < 0)
      this.min = { text, odd, start: from, end };
    if (!this.max || this.order(text, odd, from, end, this.max) > 0)
      this.max = { text, odd, start: from, end };
  }

  result(): { min?: Uint8Array; max?: Uint8Array } {
    if (this.type !== 'string') return numberBounds(this.type, this.lo, this.hi);
    if (!this.min || !this.max) return {};
    return {
      min: this.page.copy(this.min.start, this.min.end),
      max: this.page.copy(this.max.start, this.max.end),
    };
  }

  /** How text `a` (its bytes at [start, end)) orders against `b` by UTF-8 bytes: < 0, 0 or > 0. */
  private order(a: string, odd: boolean, start: number, end: number, b: BoundText): number {
    if (!odd && !b.odd) return a < b.text ? -1 : a === b.text ? 0 : 1;
    return this.page.compare(start, end, b.start, b.end);
  }
}

/**
 * A text entry: where its bytes are in the page (length prefix excluded), and whether it holds a
 * surrogate.
 */
interface BoundText {
  text: string;
  odd: boolean;
  start: number;
  end: number;
}

/** A page's header: its sizes (uncompressed, so both the same) and what it holds. */
function pageHeader(page: Page): Uint8Array {
  const w = new CompactWriter().i32(1, page.kind).i32(2, page.size).i32(3, page.size);
  if (page.kind === DATA_PAGE)
    w.struct(5, (h) => h.i32(1, page.count).i32(2, page.encoding).i32(3, RLE).i32(4, RLE));
  else w.struct(7, (h) => h.i32(1, page.count).i32(2, PLAIN));
  return w.end();
}

/** The footer: parquet.thrift's FileMetaData for one row group of the chunks written, in order. */
function fileMetadata(chunks: ChunkMeta[], rows: number): Uint8Array {
  const total = chunks.reduce((s, c) => s + c.size, 0);
  const w = new CompactWriter();
  w.i32(1, 1);
  w.listOfStructs(2, [undefined, ...chunks], (s, chunk) => {
    if (!chunk) {
      s.binary(4, 'schema').i32(5, chunks.length);
      return;
    }
    const { type, name } = chunk.column;
    s.i32(1, PHYSICAL[type]).i32(3, OPTIONAL).binary(4, name);
    const converted = CONVERTED[type];
    if (converted !== undefined) s.i32(6, converted);
    // TIMESTAMP(isAdjustedToUTC = false, unit = MICROS), as DuckDB writes its TIMESTAMP.
    if (type === 'timestamp')
      s.struct(10, (l) => l.struct(8, (t) => t.bool(1, false).struct(2, (u) => u.struct(2, () => {}))));
  });
  w.i64(3, rows);
  w.listOfStructs(4, [chunks], (g, all) => {
    g.listOfStructs(1, all, (c, chunk) => {
      c.i64(2, chunk.start);
      c.struct(3, (m) => {
        const { encoded } = chunk;
        m.i32(1, PHYSICAL[chunk.column.type])
          .listOfI32(2, encoded.encodings)
          .listOfBinary(3, [chunk.column.name])
          .i32(4, UNCOMPRESSED)
          .i64(5, rows)
          .i64(6, chunk.size)
          .i64(7, chunk.size)
          .i64(9, chunk.dataOffset);
        if (encoded.pages[0].kind === DICTIONARY_PAGE) m.i64(11, chunk.start);
        m.struct(12, (s) => {
          s.i64(3, encoded.nulls);
          if (encoded.max && encoded.min) s.binary(5, encoded.max).binary(6, encoded.min);
        });
      });
    });
    g.i64(2, total).i64(3, rows).i64(5, MAGIC.length).i64(6, total);
  });
  w.binary(6, 'keel');
  w.listOfStructs(7, chunks, (o) => o.struct(1, () => {}));
  return w.end();
}
