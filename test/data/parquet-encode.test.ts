/**
 * Keel's own Parquet encoder, checked against DuckDB: DuckDB reads back every value as written
 * (nulls, NaN, ints past 2^53 as doubles, -0, old and fractional timestamps, text with `%`, `#`,
 * accents and emptiness, text that UTF-8 and UTF-16 order apart, runs of rows, dictionaries wider
 * than a byte), and the file's schema and statistics are the ones DuckDB writes itself for the
 * same data.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeParquet, type ParquetColumn, writeEncodedPartition } from '../../src/data/index.js';
import { queryRows, type Row, withDuckDB } from '../../src/data/sql.js';
import { tempDir } from '../helpers/temp.js';

const runs = Int32Array.of(2, 1, 0, 2);
/** Five rows; request-like columns given per run (the third run holds no row). */
const columns: ParquetColumn[] = [
  { name: 'ts', type: 'timestamp', values: Float64Array.of(1796601235161, Number.NaN, 5, -1000.4), runs },
  { name: 'id', type: 'string', values: ['a', null, 'z', '%#é'], runs },
  { name: 'model', type: 'string', values: ['churn'], runs: Int32Array.of(5) },
  { name: 'canary', type: 'boolean', values: [true, null, true, false], runs },
  { name: 'latency', type: 'double', values: Float64Array.of(1.5, 2.5, 9, 1.5), runs },
  { name: 'row', type: 'int32', values: Int32Array.of(0, 1, 0, -7, 2 ** 31 - 1) },
  { name: 'score', type: 'double', values: Float64Array.of(0.5, Number.NaN, 2 ** 53 + 2, -0, 1e-300) },
  { name: 'x', type: 'float', values: Float32Array.of(0.25, 1, -3, Number.NaN, 7) },
  // By UTF-8 bytes, as Parquet orders text, '😀' is the greatest; by UTF-16 units, as JavaScript does, '！'.
  { name: 'text', type: 'string', values: ['a', '！', null, '😀', ''] },
  { name: 'flag', type: 'boolean', values: [true, false, null, true, true] },
  { name: 'zero', type: 'double', values: Float64Array.of(0, 1, 2, Number.NaN, 0) },
  { name: 'none', type: 'double', values: new Float64Array(5).fill(Number.NaN) },
  { name: 'when', type: 'timestamp', values: Float64Array.of(0, Number.NaN, -86_400_000, 1.6, 2.4) },
];

/** The file's parts, its steps run through; and how many times it paused. */
function encoded(cols: ParquetColumn[], rows: number): Uint8Array[] & { pauses?: number } {
  const steps = encodeParquet(cols, rows);
  let pauses = 0;
  for (;;) {
    const step = steps.next();
    if (step.done) return Object.assign(step.value, { pauses });
    pauses++;
  }
}

function write(cols: ParquetColumn[], rows: number): string {
  const file = join(tempDir(), 'f.parquet');
  writeFileSync(file, Buffer.concat(encoded(cols, rows)));
  return file;
}

describe('encodeParquet', () => {
  it('is read back by DuckDB as written', async () => {
    const file = write(columns, 5);
    const rows = await withDuckDB((conn) =>
      queryRows(
        conn,
        `SELECT strftime(ts, '%Y-%m-%d %H:%M:%S.%g') AS ts, id, model, canary, latency, "row", score,
           x, text, flag, none, epoch_ms("when") AS "when" FROM '${file}'`,
      ),
    );
    const ts = ['2026-12-06 23:53:55.161', '2026-12-06 23:53:55.161', null, '1969-12-31 23:59:59.000'];
    expect(rows).toEqual([
      {
        ts: ts[0],
        id: 'a',
        model: 'churn',
        canary: true,
        latency: 1.5,
        row: 0,
        score: 0.5,
        x: 0.25,
        text: 'a',
        flag: true,
        none: null,
        when: 0,
      },
      {
        ts: ts[1],
        id: 'a',
        model: 'churn',
        canary: true,
        latency: 1.5,
        row: 1,
        score: null,
        x: 1,
        text: '！',
        flag: false,
        none: null,
        when: null,
      },
      {
        ts: ts[2],
        id: null,
        model: 'churn',
        canary: null,
        latency: 2.5,
        row: 0,
        score: 2 ** 53 + 2,
        x: -3,
        text: null,
        flag: null,
        none: null,
        when: -86_400_000,
      },
      {
        ts: ts[3],
        id: '%#é',
        model: 'churn',
        canary: false,
        latency: 1.5,
        row: -7,
        score: -0,
        x: null,
        text: '😀',
        flag: true,
        none: null,
        when: 2,
      },
      {
        ts: ts[3],
        id: '%#é',
        model: 'churn',
        canary: false,
        latency: 1.5,
        row: 2 ** 31 - 1,
        score: 1e-300,
        x: 7,
        text: '',
        flag: true,
        none: null,
        when: 2,
      },
    ]);
    expect(Object.is(rows[3].score, -0)).toBe(true);
  });

  it('has the schema and statistics DuckDB writes for the same data', async () => {
    const ours = write(columns, 5);
    const theirs = join(tempDir(), 'duckdb.parquet');
    const describe = (file: string) =>
      withDuckDB(async (conn) => ({
        schema: await queryRows(
          conn,
          `SELECT name, type, repetition_type, converted_type, logical_type
             FROM parquet_schema('${file}') WHERE type IS NOT NULL`,
        ),
        stats: await queryRows(
          conn,
          `SELECT path_in_schema, num_values, stats_null_count, stats_min_value, stats_max_value
             FROM parquet_metadata('${file}') ORDER BY column_id`,
        ),
        rows: await queryRows(conn, `SELECT num_rows FROM parquet_file_metadata('${file}')`),
      }));
    await withDuckDB((conn) => conn.run(`COPY (SELECT * FROM '${ours}') TO '${theirs}' (FORMAT parquet)`));
    const [a, b] = [await describe(ours), await describe(theirs)];
    expect(a.schema).toHaveLength(columns.length);
    expect(a.schema).toEqual(b.schema);
    // One difference, on purpose: a least value of zero is written as -0.0, as parquet.thrift asks
    // of writers (a -0.0 in the data is then inside the bounds); DuckDB writes 0.0.
    const zero = (stats: Row[]) => stats.find((s) => s.path_in_schema === 'zero');
    expect(zero(a.stats)?.stats_min_value).toBe('-0.0');
    expect(zero(b.stats)?.stats_min_value).toBe('0.0');
    expect(a.stats.map((s) => (s === zero(a.stats) ? { ...s, stats_min_value: '0.0' } : s))).toEqual(b.stats);
    expect(a.rows).toEqual([{ num_rows: 5 }]);
  });

  it('writes dictionaries wider than a byte, and more columns than a short list header holds', async () => {
    const n = 70_000;
    const words = Array.from({ length: n }, (_, i) => `w${i % 1000}`);
    const many: ParquetColumn[] = [
      { name: 'w', type: 'string', values: words },
      ...Array.from(
        { length: 19 },
        (_, c): ParquetColumn => ({
          name: `c${c}`,
          type: 'float',
          values: Float32Array.from({ length: n }, (_, i) => (i * (c + 1)) % 251),
        }),
      ),
    ];
    const file = write(many, n);
    const [row] = await withDuckDB((conn) =>
      queryRows(
        conn,
        `SELECT count(*) AS n, count(DISTINCT w) AS words, sum(CAST(substr(w, 2) AS BIGINT)) AS total,
           sum(c18) AS c18, min(w) AS first, max(w) AS last FROM '${file}'`,
      ),
    );
    let c18 = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      c18 += (i * 19) % 251;
      total += i % 1000;
    }
    expect(row).toEqual({ n, words: 1000, total, c18, first: 'w0', last: 'w999' });
  });

  it('writes a dictionary of 300,000 entries as one page part, and DuckDB reads it', async () => {
    const n = 300_000;
    const ids = Float64Array.from({ length: n }, (_, i) => i * 0.5);
    const names = Array.from({ length: n }, (_, i) => `r${i}`);
    const runs = new Int32Array(n).fill(1);
    const parts = encoded(
      [
        { name: 'id', type: 'double', values: ids, runs },
        { name: 'name', type: 'string', values: names, runs },
      ],
      n,
    );
    // Magic, two pages of two parts each per column (header and body, header, levels and indices), footer.
    expect(parts.length).toBeLessThan(16);
    const file = join(tempDir(), 'big.parquet');
    writeFileSync(file, Buffer.concat(parts));
    const [row] = await withDuckDB((conn) =>
      queryRows(
        conn,
        `SELECT count(DISTINCT name) AS names, sum(id) AS total, max(id) AS top FROM '${file}'`,
      ),
    );
    expect(row).toEqual({ names: n, total: (0.5 * n * (n - 1)) / 2, top: (n - 1) * 0.5 });
  });

  it('reads back values met again after the dictionary stopped indexing new ones', async () => {
    // 3,000 distinct values, then each again in another order, then a run: past the first 1,024
    // a value met again is a new entry, an indexed one is found, a run is one entry.
    const values = [
      ...Array.from({ length: 3000 }, (_, i) => `v${i}`),
      ...Array.from({ length: 3000 }, (_, i) => `v${(i * 7) % 3000}`),
      'v5',
      'v2999',
      'v2999',
    ];
    const counts = Int32Array.from(values, (_, i) => 1 + (i % 3));
    const n = counts.reduce((a, b) => a + b, 0);
    const file = write([{ name: 'v', type: 'string', values, runs: counts }], n);
    const read = await withDuckDB((conn) => queryRows(conn, `SELECT v FROM '${file}'`));
    expect(read.map((r) => r.v)).toEqual(values.flatMap((v, i) => Array(counts[i]).fill(v)));
    const [stats] = await withDuckDB((conn) =>
      queryRows(conn, `SELECT stats_min_value AS lo, stats_max_value AS hi FROM parquet_metadata('${file}')`),
    );
    expect(stats).toEqual({ lo: 'v0', hi: 'v999' });
  });

  it('pauses once a column, and encodes the same bytes however it is run', () => {
    const first = encoded(columns, 5);
    expect(first.pauses).toBe(columns.length);
    expect(Buffer.concat(encoded(columns, 5))).toEqual(Buffer.concat(first));
  });

  it('refuses a column whose rows are not the file’s, and a name given twice', () => {
    expect(() => encoded([{ name: 'a', type: 'int32', values: Int32Array.of(1, 2) }], 3)).toThrow(
      'Parquet column a holds 2 rows, not 3',
    );
    expect(() => encoded([{ name: 'a', type: 'string', values: ['x'], runs: Int32Array.of(2) }], 3)).toThrow(
      'Parquet column a holds 2 rows, not 3',
    );
    const a = { name: 'a', type: 'int32', values: Int32Array.of(1) } as const;
    expect(() => encoded([a, { ...a }], 1)).toThrow('Parquet column a is named twice');
  });
});

describe('writeEncodedPartition', () => {
  it('publishes the file whole under its part name', async () => {
    const dir = join(tempDir(), 'date=2026-12-06');
    const file = await writeEncodedPartition(dir, encoded(columns, 5), 42);
    expect(file).toMatch(/date=2026-12-06\/part-42-[0-9a-f]{8}\.parquet$/);
    expect(readdirSync(dir)).toEqual([file.slice(dir.length + 1)]);
    const [row] = await withDuckDB((conn) => queryRows(conn, `SELECT count(*) AS n FROM '${file}'`));
    expect(row).toEqual({ n: 5 });
  });

  it('leaves nothing when the write fails once the file is open, and says why where no folder can be made', async () => {
    const dir = join(tempDir(), 'date=2026-12-06');
    // Not bytes: the write fails after the hidden file was opened.
    const broken = [...encoded(columns, 5), 'not bytes' as unknown as Uint8Array];
    await expect(writeEncodedPartition(dir, broken, 44)).rejects.toThrow();
    expect(readdirSync(dir)).toEqual([]);
    const file = await writeEncodedPartition(dir, encoded(columns, 5), 45);
    await expect(writeEncodedPartition(join(file, 'under-a-file'), encoded(columns, 5), 46)).rejects.toThrow(
      /ENOTDIR|EEXIST/,
    );
  });
});
