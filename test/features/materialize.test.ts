import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock, shortId } from '../../src/core/index.js';
import { defineEntity, defineFeatureView, fileSource, openOnlineStore } from '../../src/features/index.js';
import { serviceUrl } from '../helpers/services.js';
import { random, storeWith, tempHome } from './helpers.js';

const MIN = 60_000;
const BASE = Date.UTC(2024, 0, 1);
const customer = defineEntity({ name: 'customer', joinKey: 'customer_id' });
const iso = (ms: number) => new Date(ms).toISOString();
const redisUrl = await serviceUrl('redis');

/** 400 random rows over 2 hours for 30 customers, with ties, nulls and late-created rows. */
function writeFeatures(path: string, seed: number): void {
  const rand = random(seed);
  const lines = Array.from({ length: 400 }, (_, i) => {
    const ts = BASE + Math.floor(rand() * 120) * MIN;
    const a = rand() < 0.1 ? '' : String(i);
    return `${1 + Math.floor(rand() * 30)},${iso(ts)},${iso(ts + Math.floor(rand() * 30) * MIN + i)},${a},${rand() < 0.5}`;
  });
  writeFileSync(path, `customer_id,ts,created,a,flag\n${lines.join('\n')}\n`);
}

const view = (path: string) =>
  defineFeatureView({
    name: 'stats',
    entities: [customer],
    schema: { a: 'int64', flag: 'bool' },
    source: fileSource({ path, timestampField: 'ts', createdTimestampField: 'created' }),
    ttl: '20m',
  });

describe('materialization', () => {
  const { dir, cleanup } = tempHome();
  afterAll(cleanup);
  const ids = Array.from({ length: 32 }, (_, i) => i + 1);

  for (const at of [45, 119]) {
    it(`serves online exactly what the point-in-time join gives at the same time (t+${at} min)`, async () => {
      const path = join(dir, `f${at}.csv`);
      writeFeatures(path, at);
      const now = BASE + at * MIN;
      const clock = new ManualClock(now);
      const store = storeWith(join(dir, `s${at}`), [view(path)], { clock });
      const [summary] = await store.materialize({ start: BASE - MIN, end: now, windowMs: 50 * MIN });
      expect(summary.rows).toBeGreaterThan(0);
      const online = await store.getOnlineFeatures({
        features: ['stats:a', 'stats:flag'],
        entities: { customer_id: ids },
      });
      const offline = await store.getHistoricalFeatures({
        entityRows: ids.map((id) => ({ customer_id: id, event_timestamp: iso(now) })),
        features: ['stats:a', 'stats:flag'],
      });
      expect(online.featureNames).toEqual(['customer_id', 'a', 'flag']);
      expect(online.results[1].values).toEqual(offline.rows.map((r) => r.a));
      expect(online.results[2].values).toEqual(offline.rows.map((r) => r.flag));
      const statuses = new Set(online.results[1].statuses);
      expect(statuses.has('PRESENT') && statuses.has('OUTSIDE_MAX_AGE')).toBe(true);
      await store.close();
    });
  }

  it('serves a model the values and statuses of the Feast response, on-demand features included', async () => {
    const home = join(dir, 'serving');
    const path = join(dir, 'serving.csv');
    writeFeatures(path, 9);
    // On-demand transforms are code: the store loads them from the repo module it applied.
    mkdirSync(home, { recursive: true });
    const repo = join(home, 'features.ts');
    writeFileSync(
      repo,
      `import { defineEntity, defineFeatureView, defineOnDemandFeatureView, fileSource } from ${JSON.stringify(join(process.cwd(), 'src/features/index.js'))};
const customer = defineEntity({ name: 'customer', joinKey: 'customer_id' });
export const stats = defineFeatureView({
  name: 'stats', entities: [customer], schema: { a: 'int64', flag: 'bool' },
  source: fileSource({ path: ${JSON.stringify(path)}, timestampField: 'ts', createdTimestampField: 'created' }), ttl: '20m',
});
export const perA = defineOnDemandFeatureView({
  name: 'per_a', request: { scale: 'float64' }, sources: [stats], schema: { scaled: 'float64' },
  transform: (row) => ({ scaled: row.a === null || row.scale === null ? null : Number(row.a) * row.scale }),
});
`,
    );
    const now = BASE + 90 * MIN;
    const store = storeWith(home, [], { clock: new ManualClock(now) });
    await store.apply(repo);
    await store.materialize({ start: BASE - MIN, end: now });
    const features = ['stats:a', 'stats:flag', 'per_a:scaled'];
    const entities = { customer_id: ids, scale: ids.map((id) => (id % 5 === 0 ? null : id / 2)) };
    // A read of one feature first: the records it decoded must not answer the read of all of them.
    await store.getOnlineFeatures({ features: ['stats:a'], entities });
    const online = await store.getOnlineFeatures({ features, entities });
    const offline = await store.getHistoricalFeatures({
      entityRows: ids.map((id) => ({ customer_id: id, event_timestamp: iso(now) })),
      features: ['stats:flag'],
    });
    expect(online.results[online.featureNames.indexOf('flag')].values).toEqual(
      offline.rows.map((r) => r.flag),
    );
    const names = ['scaled', 'flag', 'a'];
    const serving = await store.getServingFeatures({ features, entities }, names);
    const column = (name: string) => online.results[online.featureNames.indexOf(name)];
    for (const name of names) expect(serving.columns.get(name)).toEqual(column(name).values);
    const missing = ids.map((_, row) => {
      const absent = Object.fromEntries(
        names.map((name) => [name, column(name).statuses[row]]).filter(([, status]) => status !== 'PRESENT'),
      );
      return Object.keys(absent).length > 0 ? absent : undefined;
    });
    expect(serving.missing).toEqual(missing);
    // Every kind of row was there to compare: computed, computed null, stored, too old, absent.
    const statuses = new Set([...column('scaled').statuses, ...column('a').statuses]);
    expect([...statuses].sort()).toEqual(['NOT_FOUND', 'NULL_VALUE', 'OUTSIDE_MAX_AGE', 'PRESENT']);
    await store.close();
  });

  it.skipIf(!redisUrl)('gives the same agreement with the Redis online store', async () => {
    const path = join(dir, 'redis.csv');
    writeFeatures(path, 5);
    const now = BASE + 100 * MIN;
    const redis = await openOnlineStore(
      { type: 'redis', url: redisUrl as string },
      { keyPrefix: `keel-test:${shortId()}:` },
    );
    const store = storeWith(join(dir, 'redis'), [view(path)], {
      clock: new ManualClock(now),
      onlineStore: redis,
    });
    await store.materialize({ start: BASE, end: now });
    const online = await store.getOnlineFeatures({
      features: ['stats:a', 'stats:flag'],
      entities: { customer_id: ids },
    });
    const offline = await store.getHistoricalFeatures({
      entityRows: ids.map((id) => ({ customer_id: id, event_timestamp: iso(now) })),
      features: ['stats:a', 'stats:flag'],
    });
    expect(online.results[1].values).toEqual(offline.rows.map((r) => r.a));
    expect(online.results[2].values).toEqual(offline.rows.map((r) => r.flag));
    await redis.deleteView('stats');
    await store.close();
    await redis.close();
  });

  it('resumes a crashed run at the first unfinished window and ends in the same state', async () => {
    const path = join(dir, 'crash.csv');
    writeFeatures(path, 7);
    const end = BASE + 120 * MIN;
    const clock = new ManualClock(end);
    const crashing = storeWith(join(dir, 'crash'), [view(path)], { clock });
    let batches = 0;
    await expect(
      crashing.materialize({
        start: BASE,
        end,
        windowMs: 30 * MIN,
        batchSize: 5,
        progress: () => {
          if (++batches === 9) throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    const state = JSON.parse(
      readFileSync(join(dir, 'crash', '.keel', 'features', 'materialization.json'), 'utf8'),
    );
    expect(state.stats.pending.doneUntil).toBeGreaterThan(BASE);
    expect(state.stats.materializedUntil).toBeUndefined();

    const [resumed] = await crashing.materialize({ start: BASE, end, windowMs: 30 * MIN, batchSize: 5 });
    const fresh = storeWith(join(dir, 'fresh'), [view(path)], { clock });
    const [full] = await fresh.materialize({ start: BASE, end, windowMs: 30 * MIN, batchSize: 5 });
    expect(resumed.rows).toBeLessThan(full.rows);
    const read = (s: typeof fresh) =>
      s.getOnlineFeatures({ features: ['stats:a'], entities: { customer_id: ids } });
    expect((await read(crashing)).results).toEqual((await read(fresh)).results);
    const after = JSON.parse(
      readFileSync(join(dir, 'crash', '.keel', 'features', 'materialization.json'), 'utf8'),
    );
    expect(after.stats).toEqual({ materializedUntil: end });
    await crashing.close();
    await fresh.close();
  });

  it('refuses to serve or materialize a view that is not online, and to join one that is not offline', async () => {
    const path = join(dir, 'flags.csv');
    writeFeatures(path, 3);
    const source = fileSource({ path, timestampField: 'ts' });
    const offlineOnly = defineFeatureView({
      name: 'cold',
      entities: [customer],
      schema: { a: 'int64' },
      source,
      online: false,
    });
    const onlineOnly = defineFeatureView({
      name: 'hot',
      entities: [customer],
      schema: { a: 'int64' },
      source,
      offline: false,
    });
    const store = storeWith(join(dir, 'flags'), [offlineOnly, onlineOnly]);
    await expect(
      store.getOnlineFeatures({ features: ['cold:a'], entities: { customer_id: [1] } }),
    ).rejects.toThrow(/cold is not online/);
    await expect(store.materialize({ start: BASE, end: BASE + MIN, views: ['cold'] })).rejects.toThrow(
      /cold is not online/,
    );
    await expect(
      store.getHistoricalFeatures({
        entityRows: [{ customer_id: 1, event_timestamp: iso(BASE) }],
        features: ['hot:a'],
      }),
    ).rejects.toThrow(/hot is not offline/);
    expect((await store.materialize({ start: BASE, end: BASE + 120 * MIN })).map((s) => s.view)).toEqual([
      'hot',
    ]);
    await store.close();
  });

  it('materializes incrementally from where the last run stopped', async () => {
    const path = join(dir, 'inc.csv');
    writeFeatures(path, 11);
    const clock = new ManualClock(BASE + 120 * MIN);
    const store = storeWith(join(dir, 'inc'), [view(path)], { clock });
    const [first] = await store.materializeIncremental({ end: BASE + 60 * MIN });
    expect(first.start).toBe(iso(BASE + 40 * MIN));
    const [second] = await store.materializeIncremental({ end: BASE + 120 * MIN });
    expect(second.start).toBe(iso(BASE + 60 * MIN + 1));
    expect(await store.materializeIncremental({ end: BASE + 60 * MIN })).toEqual([]);
    await store.close();
  });
});
