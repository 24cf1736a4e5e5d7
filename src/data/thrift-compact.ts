/**
 * @module data/thrift-compact
 * The writing half of Thrift's compact protocol, as much of it as a Parquet footer and its page
 * headers need (parquet.thrift): structs of i32, i64, binary, bool, list and struct fields,
 * written in the order of their ids, each 1 to 15 after the one before. Also the byte buffer the
 * Parquet encoder builds its pages in.
 */

/** A growable byte buffer: little-endian numbers, varints, byte runs, UTF-8 text. */
export class ByteSink {
  private buf: Uint8Array;
  private data: DataView;
  /** The same bytes as a Buffer, for its UTF-8 writes and range compares, which allocate nothing. */
  private text: Buffer;
  length = 0;

  /** `capacity`: the bytes it holds before it first grows. */
  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
    this.data = new DataView(this.buf.buffer);
    this.text = Buffer.from(this.buf.buffer);
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.length++] = b;
  }

  /** Unsigned LEB128; exact for integers up to 2^53. */
  varint(n: number): void {
    this.reserve(8);
    while (n >= 0x80) {
      this.buf[this.length++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.length++] = n;
  }

  u32(n: number): void {
    this.reserve(4);
    this.data.setUint32(this.length, n, true);
    this.length += 4;
  }

  i32(n: number): void {
    this.reserve(4);
    this.data.setInt32(this.length, n, true);
    this.length += 4;
  }

  /** An integer as int64 (exact while |n| <= 2^53), in two 32-bit halves. */
  i64(n: number): void {
    this.reserve(8);
    const high = Math.floor(n / 2 ** 32);
    this.data.setUint32(this.length, n - high * 2 ** 32, true);
    this.data.setInt32(this.length + 4, high, true);
    this.length += 8;
  }

  f32(n: number): void {
    this.reserve(4);
    this.data.setFloat32(this.length, n, true);
    this.length += 4;
  }

  f64(n: number): void {
    this.reserve(8);
    this.data.setFloat64(this.length, n, true);
    this.length += 8;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** `s` in UTF-8 after its byte length (4 bytes, little-endian): Parquet's PLAIN BYTE_ARRAY. */
  lengthPrefixedUtf8(s: string): void {
    // At most 3 bytes a UTF-16 unit (a surrogate pair: 4 bytes for 2 units).
    this.reserve(4 + 3 * s.length);
    const n = this.text.write(s, this.length + 4, 'utf8');
    this.data.setUint32(this.length, n, true);
    this.length += 4 + n;
  }

  /** Bytes [aStart, aEnd) against [bStart, bEnd), unsigned, as Buffer.compare orders them. */
  compare(aStart: number, aEnd: number, bStart: number, bEnd: number): number {
    return this.text.compare(this.text, bStart, bEnd, aStart, aEnd);
  }

  /** A copy of bytes [start, end). */
  copy(start: number, end: number): Uint8Array {
    return this.buf.slice(start, end);
  }

  /** The bytes written so far (a view: valid until the next write). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  private reserve(more: number): void {
    if (this.length + more <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.length + more));
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
    this.data = new DataView(grown.buffer);
    this.text = Buffer.from(grown.buffer);
  }
}

/** The compact protocol's type codes of a field (and of a list's elements). */
const T = { TRUE: 1, FALSE: 2, I32: 5, I64: 6, BINARY: 8, LIST: 9, STRUCT: 12 } as const;
type TypeCode = (typeof T)[keyof typeof T];

const utf8 = new TextEncoder();

/**
 * Writes one Thrift struct (and the structs nested in it) in the compact protocol. Fields are
 * written by id, in increasing order within a struct, as parquet.thrift numbers them.
 *
 * @example
 * const w = new CompactWriter();
 * w.i32(1, 0).i32(2, size).end(); // a struct with fields 1 and 2
 */
export class CompactWriter {
  readonly out = new ByteSink();
  /** The last field id written in each open struct, innermost last. */
  private readonly last: number[] = [0];

  i32(id: number, n: number): this {
    this.field(id, T.I32);
    this.zigzag(n);
    return this;
  }

  i64(id: number, n: number): this {
    this.field(id, T.I64);
    this.zigzag(n);
    return this;
  }

  bool(id: number, b: boolean): this {
    this.field(id, b ? T.TRUE : T.FALSE);
    return this;
  }

  binary(id: number, value: string | Uint8Array): this {
    this.field(id, T.BINARY);
    this.rawBinary(value);
    return this;
  }

  /** A struct field whose own fields `body` writes. */
  struct(id: number, body: (w: this) => void): this {
    this.field(id, T.STRUCT);
    this.nested(body);
    return this;
  }

  listOfI32(id: number, values: readonly number[]): this {
    this.list(id, T.I32, values.length);
    for (const n of values) this.zigzag(n);
    return this;
  }

  listOfBinary(id: number, values: readonly string[]): this {
    this.list(id, T.BINARY, values.length);
    for (const v of values) this.rawBinary(v);
    return this;
  }

  /** A list of structs, each written by `body`. */
  listOfStructs<I>(id: number, items: readonly I[], body: (w: this, item: I) => void): this {
    this.list(id, T.STRUCT, items.length);
    for (const item of items) this.nested((w) => body(w, item));
    return this;
  }

  /** Ends the outermost struct. */
  end(): Uint8Array {
    this.out.byte(0);
    return this.out.view();
  }

  private nested(body: (w: this) => void): void {
    this.last.push(0);
    body(this);
    this.out.byte(0);
    this.last.pop();
  }

  private field(id: number, type: TypeCode): void {
    const at = this.last.length - 1;
    const delta = id - this.last[at];
    // The long form (a gap over 15, or ids out of order) is not needed by any struct written here.
    if (delta <= 0 || delta > 15)
      throw new Error(`Thrift field ${id} after ${this.last[at]}: ids must rise by 1 to 15`);
    this.out.byte((delta << 4) | type);
    this.last[at] = id;
  }

  private list(id: number, element: TypeCode, size: number): void {
    this.field(id, T.LIST);
    if (size < 15) this.out.byte((size << 4) | element);
    else {
      this.out.byte(0xf0 | element);
      this.out.varint(size);
    }
  }

  private rawBinary(value: string | Uint8Array): void {
    const bytes = typeof value === 'string' ? utf8.encode(value) : value;
    this.out.varint(bytes.length);
    this.out.bytes(bytes);
  }

  /** Zigzag (sign folded into the low bit) then varint; exact for |n| < 2^52. */
  private zigzag(n: number): void {
    this.out.varint(n >= 0 ? n * 2 : -n * 2 - 1);
  }
}
