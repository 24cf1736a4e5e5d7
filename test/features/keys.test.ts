import { describe, expect, it } from 'vitest';
import { withDuckDB } from '../../src/data/index.js';
import {
  buildRepo,
  defineEntity,
  defineFeatureView,
  entityKey,
  exactJsonPieces,
  fileSource,
  parseExactJson,
  stringifyExact,
} from '../../src/features/index.js';
import { keyOrderSql } from '../../src/features/keys.js';
import { Rng } from '../../src/ml/index.js';
import { storeWith, tempHome } from './helpers.js';

const user = defineEntity({ name: 'user', joinKey: 'user_id' });
const sku = defineEntity({ name: 'sku', joinKey: 'sku', valueType: 'string' });

describe('entity keys', () => {
  it('serializes as Feast’s EntityKey v3: count, then length-prefixed names and values', () => {
    // 1 key; STRING(2), len 7, "user_id"; INT64(4), len 8, 1 little-endian.
    expect(entityKey([user], { user_id: 1 })).toBe(
      `01000000${'02000000'}07000000${Buffer.from('user_id').toString('hex')}04000000080000000100000000000000`,
    );
    expect(entityKey([user], { user_id: 1 })).toBe(entityKey([user], { user_id: 1n }));
  });

  it('refuses anything but an int64 for an int64 key: booleans, strings, fractions, unsafe numbers', () => {
    for (const bad of [true, '1', '0x1', 1.5, 2 ** 53, 2n ** 63n]) {
      expect(() => entityKey([user], { user_id: bad })).toThrow(/entity key 'user_id'/);
    }
    expect(() => entityKey([sku], { sku: 123 })).toThrow(/must be a string, got number 123/);
  });

  it('keeps keys beyond 2^53 and strings holding separators apart', () => {
    const big = [9007199254740992n, 9007199254740993n].map((user_id) => entityKey([user], { user_id }));
    expect(big[0]).not.toBe(big[1]);
    const pair = defineEntity({ name: 'shop', joinKey: 'shop', valueType: 'string' });
    expect(entityKey([sku, pair], { sku: 'a|shop=b', shop: 'c' })).not.toBe(
      entityKey([sku, pair], { sku: 'a', shop: 'b|sku=a|shop=c' }),
    );
  });

  it('orders rows in DuckDB exactly as their serialized keys sort bytewise (the SQLite index order)', async () => {
    const rng = new Rng(11);
    const int64 = () =>
      [
        0n,
        -1n,
        255n,
        256n,
        -(2n ** 63n),
        2n ** 63n - 1n,
        BigInt(rng.int(1 << 30)) * BigInt(rng.int(1 << 30) - 2 ** 29),
      ][rng.int(7)];
    const text = () =>
      Array.from({ length: rng.int(300) }, () => ['a', 'b', 'é', '€', '|', '\u00ff', 'z'][rng.int(7)]).join(
        '',
      );
    const rows = Array.from({ length: 400 }, () => ({ user_id: int64(), sku: text() }));
    const sql = (entities: Parameters<typeof keyOrderSql>[0]) =>
      `SELECT i FROM (VALUES ${rows.map((r, i) => `(${i}, CAST('${r.user_id}' AS BIGINT), '${r.sku.replaceAll("'", "''")}')`).join(', ')})
       t(i, user_id, sku) ORDER BY ${keyOrderSql(entities)}, i`;
    for (const entities of [[user], [sku], [user, sku]]) {
      const ordered = await withDuckDB(async (conn) =>
        (await conn.runAndReadAll(sql(entities))).getRowsJS().map((r) => Number(r[0])),
      );
      const keys = rows.map((r) => entityKey(entities, r));
      const want = rows
        .map((_, i) => i)
        .sort((a, b) => Buffer.compare(Buffer.from(keys[a], 'hex'), Buffer.from(keys[b], 'hex')) || a - b);
      expect(ordered).toEqual(want);
    }
  });

  it('types CLI text by the declared entity: "00123" stays a string key, int64 takes digits only', async () => {
    const { dir, cleanup } = tempHome();
    const source = fileSource({ path: 'x.parquet', timestampField: 'ts' });
    const store = storeWith(dir, [
      defineFeatureView({ name: 'by_sku', entities: [sku], schema: { n: 'int64' }, source }),
      defineFeatureView({ name: 'by_user', entities: [user], schema: { n: 'int64' }, source }),
    ]);
    expect(await store.entitiesFromText({ features: ['by_sku:n'] }, { sku: ['00123'] })).toEqual({
      sku: ['00123'],
    });
    expect(
      await store.entitiesFromText({ features: ['by_user:n'] }, { user_id: ['00123', '9007199254740993'] }),
    ).toEqual({ user_id: [123, 9007199254740993n] });
    await expect(store.entitiesFromText({ features: ['by_user:n'] }, { user_id: ['1e3'] })).rejects.toThrow(
      /--entity user_id must be an integer, got '1e3'/,
    );
    await store.close();
    cleanup();
    expect(buildRepo([user]).entities.size).toBe(1);
  });
});

describe('exact JSON', () => {
  it('parses integers beyond 2^53 as BigInts and leaves the rest to the native parser', () => {
    expect(
      parseExactJson('{"a": [9007199254740993, 1, 0.1, -9223372036854775808], "s": "9007199254740993"}'),
    ).toEqual({
      a: [9007199254740993n, 1, 0.1, -9223372036854775808n],
      s: '9007199254740993',
    });
    expect(parseExactJson('{"a": 12345678901234567.5}')).toEqual({ a: 12345678901234568 });
    expect(() => parseExactJson('{"a": 12345678901234567,}')).toThrow(SyntaxError);
    expect(() => parseExactJson('{"__proto__": {"x": 1}}')).toThrow(/forbidden prototype/);
  });

  it('prints BigInts as digits and non-finite doubles as proto3 JSON does', () => {
    expect(stringifyExact({ v: [9007199254740993n, Number.NaN, 1, null, 'x'] })).toBe(
      '{"v":[9007199254740993,"NaN",1,null,"x"]}',
    );
    expect(stringifyExact({ a: 1n }, 2)).toBe('{\n  "a": 1\n}');
  });

  it('writes the same text in pieces, arrays a few thousand elements at a time', async () => {
    const rng = new Rng(12);
    const big = (draw: () => unknown) => Array.from({ length: 10_000 }, draw);
    const values = [
      {
        metadata: { feature_names: ['a', 'b'], none: undefined, at: new Date(0) },
        results: [
          { values: big(() => rng.next()), statuses: big(() => 'PRESENT') },
          { values: big(() => [2n ** 60n + BigInt(rng.int(9)), Number.NaN, null, -0][rng.int(4)]) },
          { rows: big(() => ({ x: rng.int(5), y: rng.int(2) ? 'y' : undefined })) },
        ],
      },
      [],
      {},
      [undefined, () => 1, [[]]],
      'plain',
      Number.POSITIVE_INFINITY,
      null,
    ];
    for (const value of values) {
      const pieces: string[] = [];
      for await (const piece of exactJsonPieces(value)) pieces.push(piece);
      expect(pieces.join('')).toBe(stringifyExact(value));
      if (value && typeof value === 'object' && 'results' in value) expect(pieces.length).toBeGreaterThan(10);
    }
  });
});
