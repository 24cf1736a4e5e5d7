import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import {
  defineEntity,
  defineFeatureView,
  type FeatureStore,
  fileSource,
  historicalColumns,
} from '../../src/features/index.js';
import { random, storeWith, tempHome } from './helpers.js';

const MIN = 60_000;
const BASE = Date.UTC(2024, 0, 1);
const TTL_MIN = 10;
const iso = (ms: number) => new Date(ms).toISOString();

interface FeatureRow {
  id: number;
  ts: number;
  created: number;
  a: number | null;
  b: number;
}

/** Random feature rows on a minute grid: equal timestamps (ties), gaps, late-created corrections. */
function featureRows(rand: () => number, n: number): FeatureRow[] {
  const rows: FeatureRow[] = [];
  for (let i = 0; i < n; i++) {
    const ts = BASE + Math.floor(rand() * 60) * MIN;
    // Created up to an hour after the event (late arrivals); the index keeps created times unique.
    const created = ts + Math.floor(rand() * 60) * MIN + i;
    rows.push({ id: 1 + Math.floor(rand() * 5), ts, created, a: rand() < 0.1 ? null : i, b: i * 0.5 });
  }
  return rows;
}

function writeCsv(path: string, rows: FeatureRow[]): void {
  const lines = rows.map((r) => `${r.id},${iso(r.ts)},${iso(r.created)},${r.a ?? ''},${r.b}`);
  writeFileSync(path, `customer_id,ts,created,a,b\n${lines.join('\n')}\n`);
}

/** The specification, by brute force: the latest row in [event - ttl, event] (Feast's bounds), latest created first. */
function bruteForce(
  rows: FeatureRow[],
  id: number,
  event: number,
  ttlMs: number,
  asOfCreated = false,
): FeatureRow | undefined {
  let best: FeatureRow | undefined;
  for (const r of rows) {
    if (r.id !== id || r.ts > event || (ttlMs > 0 && r.ts < event - ttlMs)) continue;
    if (asOfCreated && r.created > event) continue;
    if (!best || r.ts > best.ts || (r.ts === best.ts && r.created > best.created)) best = r;
  }
  return best;
}

const customer = defineEntity({ name: 'customer', joinKey: 'customer_id' });
const view = (path: string, ttl: number, name = 'stats') =>
  defineFeatureView({
    name,
    entities: [customer],
    schema: { a: 'int64', b: 'float64' },
    source: fileSource({ path, timestampField: 'ts', createdTimestampField: 'created' }),
    ttl,
  });

describe('getHistoricalFeatures', () => {
  const { dir, cleanup } = tempHome();
  afterAll(cleanup);

  for (const [seed, ttlMin] of [
    [1, TTL_MIN],
    [2, TTL_MIN],
    [3, 0],
    [4, 3],
  ] as const) {
    it(`matches a brute-force join on random data (seed ${seed}, ttl ${ttlMin} min)`, async () => {
      const rand = random(seed);
      const rows = featureRows(rand, 300);
      const path = join(dir, `features-${seed}.csv`);
      writeCsv(path, rows);
      // A second view over the same rows with its own TTL: each join must apply its own.
      const store = storeWith(join(dir, `s${seed}`), [view(path, ttlMin * 60), view(path, 5 * 60, 'recent')]);
      // Events on the same grid, so some fall exactly on a feature timestamp or on the TTL edge.
      const entityRows = Array.from({ length: 200 }, (_, i) => ({
        customer_id: 1 + Math.floor(rand() * 6),
        event_timestamp: new Date(BASE + Math.floor(rand() * 75) * MIN - (i % 7 === 0 ? 1 : 0)),
        label: i,
      }));
      const result = await store.getHistoricalFeatures({
        entityRows,
        features: ['stats:a', 'stats:b', 'recent:a'],
        fullFeatureNames: true,
      });
      expect(result.columns).toEqual([
        'customer_id',
        'event_timestamp',
        'label',
        'stats__a',
        'stats__b',
        'recent__a',
      ]);
      expect(result.rows).toHaveLength(entityRows.length);
      let matched = 0;
      result.rows.forEach((row, i) => {
        const e = entityRows[i];
        expect(row.label).toBe(e.label);
        const want = bruteForce(rows, e.customer_id, e.event_timestamp.getTime(), ttlMin * MIN);
        const recent = bruteForce(rows, e.customer_id, e.event_timestamp.getTime(), 5 * MIN);
        if (want) matched++;
        // Whatever was joined came from a row at or before the event: b identifies the row.
        const source = rows.find((r) => r.b === row.stats__b);
        if (source) expect(source.ts).toBeLessThanOrEqual(e.event_timestamp.getTime());
        expect({ i, a: row.stats__a, b: row.stats__b, recent: row.recent__a }).toEqual({
          i,
          a: want?.a ?? null,
          b: want?.b ?? null,
          recent: recent?.a ?? null,
        });
      });
      expect(matched).toBeGreaterThan(20);
      await store.close();
    });
  }

  for (const seed of [5, 6]) {
    it(`with asOfCreated, matches a brute-force join that also ignores rows created after the event (seed ${seed})`, async () => {
      const rand = random(seed);
      const rows = featureRows(rand, 300);
      const path = join(dir, `created-${seed}.csv`);
      writeCsv(path, rows);
      const store = storeWith(join(dir, `c${seed}`), [view(path, TTL_MIN * 60)]);
      const entityRows = Array.from({ length: 200 }, () => ({
        customer_id: 1 + Math.floor(rand() * 5),
        event_timestamp: new Date(BASE + Math.floor(rand() * 90) * MIN),
      }));
      const result = await store.getHistoricalFeatures({
        entityRows,
        features: ['stats:a', 'stats:b'],
        asOfCreated: true,
      });
      let differs = 0;
      result.rows.forEach((row, i) => {
        const { customer_id, event_timestamp } = entityRows[i];
        const want = bruteForce(rows, customer_id, event_timestamp.getTime(), TTL_MIN * MIN, true);
        const plain = bruteForce(rows, customer_id, event_timestamp.getTime(), TTL_MIN * MIN);
        if (want !== plain) differs++;
        expect({ i, a: row.a, b: row.b }).toEqual({ i, a: want?.a ?? null, b: want?.b ?? null });
      });
      // Late arrivals really change answers here, so the option is exercised, not idle.
      expect(differs).toBeGreaterThan(10);
      await store.close();
    });
  }

  it('never joins a feature row from after the event, even one created before it', async () => {
    const path = join(dir, 'future.csv');
    const event = BASE + 30 * MIN;
    writeCsv(path, [
      { id: 1, ts: event - MIN, created: event - MIN, a: 1, b: 1 },
      { id: 1, ts: event + 1, created: event - 5 * MIN, a: 2, b: 2 },
      { id: 2, ts: event + 1, created: event, a: 3, b: 3 },
    ]);
    const store: FeatureStore = storeWith(join(dir, 'future'), [view(path, 0)]);
    const result = await store.getHistoricalFeatures({
      entityRows: [
        { customer_id: 1, event_timestamp: iso(event) },
        { customer_id: 2, event_timestamp: iso(event) },
        { customer_id: 2, event_timestamp: iso(event + 1) },
      ],
      features: ['stats:a'],
    });
    expect(result.rows.map((r) => r.a)).toEqual([1, null, 3]);
    await store.close();
  });

  it('lets a late-arriving correction (same timestamp, created later) win the tie', async () => {
    const path = join(dir, 'late.csv');
    writeCsv(path, [
      { id: 1, ts: BASE, created: BASE + 2 * MIN, a: 2, b: 2 },
      { id: 1, ts: BASE, created: BASE, a: 1, b: 1 },
      { id: 1, ts: BASE - MIN, created: BASE + 9 * MIN, a: 0, b: 0 },
    ]);
    const store = storeWith(join(dir, 'late'), [view(path, 0)]);
    const result = await store.getHistoricalFeatures({
      entityRows: [{ customer_id: 1, event_timestamp: iso(BASE) }],
      features: ['stats:a'],
    });
    expect(result.rows[0].a).toBe(2);
    await store.close();
  });

  it('writes Parquet with --out and reads entity rows from a file', async () => {
    const path = join(dir, 'out.csv');
    writeCsv(path, [{ id: 7, ts: BASE, created: BASE, a: 42, b: 0.5 }]);
    const entities = join(dir, 'entities.csv');
    writeFileSync(entities, `customer_id,event_timestamp\n7,${iso(BASE + MIN)}\n8,${iso(BASE + MIN)}\n`);
    const store = storeWith(join(dir, 'out'), [view(path, 0)]);
    const out = join(dir, 'training.parquet');
    const written = await store.getHistoricalFeatures({
      entityRows: { path: entities },
      features: ['stats'],
      out,
    });
    expect(written.rowCount).toBe(2);
    const back = await store.getHistoricalFeatures({
      entityRows: { path: out },
      features: ['stats:b'],
      fullFeatureNames: true,
    });
    expect(back.rows.map((r) => [r.customer_id, r.a, r.stats__b])).toEqual([
      [7, 42, 0.5],
      [8, null, null],
    ]);
    expect(historicalColumns(back)).toMatchObject({ customer_id: [7, 8], stats__b: [0.5, null] });
    await store.close();
  });

  it('reads a glob of Parquet partitions under {home}, as ingestion writes them', async () => {
    const home = join(dir, 'glob', '.keel');
    mkdirSync(join(home, 'offline', 'tx'), { recursive: true });
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    for (const [part, ts, a] of [
      [1, BASE, 1],
      [2, BASE + MIN, 2],
    ]) {
      await conn.run(
        `COPY (SELECT 7::BIGINT AS customer_id, epoch_ms(${ts}::BIGINT) AS ts, ${a}::BIGINT AS a, 0.5 AS b)
         TO '${join(home, 'offline', 'tx', `part-${part}.parquet`)}' (FORMAT parquet)`,
      );
    }
    conn.closeSync();
    const partitioned = defineFeatureView({
      name: 'tx',
      entities: [customer],
      schema: { a: 'int64' },
      source: fileSource({ path: '{home}/offline/tx/*.parquet', timestampField: 'ts' }),
    });
    const store = storeWith(join(dir, 'glob'), [partitioned]);
    const result = await store.getHistoricalFeatures({
      entityRows: [
        { customer_id: 7, event_timestamp: iso(BASE) },
        { customer_id: 7, event_timestamp: iso(BASE + 2 * MIN) },
      ],
      features: ['tx:a'],
    });
    expect(result.rows.map((r) => r.a)).toEqual([1, 2]);
    await store.close();
  });

  it('names the missing column of bad entity rows', async () => {
    const path = join(dir, 'bad.csv');
    writeCsv(path, [{ id: 7, ts: BASE, created: BASE, a: 1, b: 1 }]);
    const store = storeWith(join(dir, 'bad'), [view(path, 0)]);
    await expect(
      store.getHistoricalFeatures({
        entityRows: [{ customer_id: 1, when: iso(BASE) }],
        features: ['stats:a'],
      }),
    ).rejects.toThrow(/lack column 'event_timestamp'/);
    await expect(
      store.getHistoricalFeatures({
        entityRows: [{ customer_id: 1, event_timestamp: 'soon' }],
        features: ['stats:a'],
      }),
    ).rejects.toThrow(/row 0 column event_timestamp is not a timestamp/);
    await expect(
      store.getHistoricalFeatures({
        entityRows: [{ customer_id: 1, event_timestamp: iso(BASE) }],
        features: ['stats:zz'],
      }),
    ).rejects.toThrow(/has no feature 'zz'/);
    await expect(store.getHistoricalFeatures({ entityRows: [], features: ['stats:a'] })).rejects.toThrow(
      /no entity rows/,
    );
    await store.close();
  });
});
