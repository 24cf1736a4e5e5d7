/**
 * The in-process cache in front of the Redis online store: it keeps the store's contract (reads
 * after its own writes see them), serves a record from memory until its TTL passes while Redis
 * changes under it, never caches an absent record nor what a read in flight across a write
 * brought back, stays within its memory bound by dropping the least recently read, and its
 * figures reach `/metrics` (SQLite's cache: online-sqlite.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shortId } from '../../src/core/index.js';
import {
  CachedOnlineStore,
  defineEntity,
  entityKey,
  FeatureStore,
  type OnlineStore,
  openOnlineStore,
} from '../../src/features/index.js';
import { buildApp } from '../../src/server/index.js';
import { openTestRegistry } from '../helpers/registry.js';
import { serviceUrl } from '../helpers/services.js';
import { tempDir } from '../helpers/tracking.js';
import { describeOnlineStoreContract } from './online-store.contract.js';

const url = await serviceUrl('redis');
const user = defineEntity({ name: 'user', joinKey: 'id' });
const key = (id: number) => entityKey([user], { id });

describe.skipIf(!url)('cached Redis online store', () => {
  describeOnlineStoreContract('redis with an in-process cache', async () =>
    url
      ? openOnlineStore(
          { type: 'redis', url, cache: { ttlMs: 60_000 } },
          { keyPrefix: `keel-test:${shortId()}:` },
        )
      : undefined,
  );

  let redis: OnlineStore;
  let other: OnlineStore;
  const prefix = `keel-test:${shortId()}:`;
  beforeAll(async () => {
    redis = await openOnlineStore({ type: 'redis', url: url as string }, { keyPrefix: prefix });
    // Another process's store: it writes to Redis without passing through the cache.
    other = await openOnlineStore({ type: 'redis', url: url as string }, { keyPrefix: prefix });
  });
  afterAll(async () => {
    await redis.deleteView('v');
    await redis.close();
    await other.close();
  });

  it('serves a record from memory until its TTL passes, and never caches an absent one', async () => {
    let now = 1_000_000;
    const cached = new CachedOnlineStore(redis, { ttlMs: 500 }, () => now);
    await other.onlineWrite('v', [{ entityKey: key(1), record: { eventTs: 1, payload: 'old' } }]);
    expect((await cached.onlineRead('v', [key(1), key(2)])).map((r) => r?.payload)).toEqual([
      'old',
      undefined,
    ]);
    await other.onlineWrite('v', [
      { entityKey: key(1), record: { eventTs: 2, payload: 'new' } },
      { entityKey: key(2), record: { eventTs: 2, payload: 'born' } },
    ]);
    now += 499;
    // key 1 from memory (stale by design), key 2 read from Redis: absent records are not kept.
    expect((await cached.onlineRead('v', [key(1), key(2)])).map((r) => r?.payload)).toEqual(['old', 'born']);
    now += 2;
    expect((await cached.onlineRead('v', [key(1)])).map((r) => r?.payload)).toEqual(['new']);
    expect(cached.stats()).toMatchObject({ hits: 1, misses: 4, entries: 2, evictions: 0 });
  });

  it('does not keep what a read in flight across a write brought back', async () => {
    const cached = new CachedOnlineStore(redis, { ttlMs: 60_000 });
    await other.onlineWrite('v', [{ entityKey: key(50), record: { eventTs: 1, payload: 'before' } }]);
    // A read of 1,000 entities is sent at once (smaller ones wait for the turn's end), before the
    // write's command on the same connection, so it answers the old record; the cache must not
    // keep it once the write has gone through.
    const many = Array.from({ length: 1000 }, (_, i) => key(50 + i));
    const inFlight = cached.onlineRead('v', many);
    await cached.onlineWrite('v', [{ entityKey: key(50), record: { eventTs: 2, payload: 'after' } }]);
    expect((await inFlight)[0]?.payload).toBe('before');
    expect((await cached.onlineRead('v', [key(50)])).map((r) => r?.payload)).toEqual(['after']);
  });

  it('stays within maxBytes, dropping the least recently read', async () => {
    const payload = 'x'.repeat(400);
    const ids = Array.from({ length: 20 }, (_, i) => 100 + i);
    await other.onlineWrite(
      'v',
      ids.map((id) => ({ entityKey: key(id), record: { eventTs: 1, payload } })),
    );
    const cached = new CachedOnlineStore(redis, { ttlMs: 60_000, maxBytes: 4096 });
    await cached.onlineRead('v', ids.slice(0, 3).map(key));
    // Read 100 again: it becomes the most recent, so 101 and 102 go first.
    await cached.onlineRead('v', [key(100)]);
    await cached.onlineRead('v', ids.slice(3).map(key));
    const stats = cached.stats();
    expect(stats.bytes).toBeLessThanOrEqual(4096);
    expect(stats.evictions).toBeGreaterThan(0);
    expect(stats.entries + stats.evictions).toBe(20);
    const before = cached.stats().hits;
    await cached.onlineRead('v', [key(119)]);
    expect(cached.stats().hits).toBe(before + 1);
    await cached.onlineRead('v', [key(101)]);
    expect(cached.stats().hits).toBe(before + 1);
  });

  it('shows its figures on /metrics', async () => {
    const cached = new CachedOnlineStore(redis, { ttlMs: 60_000 });
    const dir = tempDir();
    const features = new FeatureStore({
      config: { root: dir, home: dir, onlineStore: { type: 'redis', url: url as string } },
      onlineStore: cached,
    });
    await other.onlineWrite('v', [{ entityKey: key(7), record: { eventTs: 1, payload: 'p' } }]);
    await cached.onlineRead('v', [key(7)]);
    await cached.onlineRead('v', [key(7), key(7), key(7)]);
    const { registry, tracking, cleanup } = await openTestRegistry('sqlite');
    const app = await buildApp({ services: { tracking, registry, features }, logger: false });
    try {
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(text).toMatch(/^keel_online_cache_hits_total 3$/m);
      expect(text).toMatch(/^keel_online_cache_misses_total 1$/m);
      expect(text).toMatch(/^keel_online_cache_hit_ratio 0\.75$/m);
    } finally {
      await app.close();
      await cleanup();
    }
  });
});

describe('the SQLite online store on /metrics', () => {
  const metricsWith = async (cache?: false) => {
    const dir = tempDir();
    const features = new FeatureStore({
      config: { root: dir, home: dir, onlineStore: { type: 'sqlite', path: `${dir}/online.db`, cache } },
    });
    const { registry, tracking, cleanup } = await openTestRegistry('sqlite');
    const app = await buildApp({ services: { tracking, registry, features }, logger: false });
    try {
      await (await features.onlineStore).onlineRead('v', [key(1)]);
      return (await app.inject({ method: 'GET', url: '/metrics' })).body;
    } finally {
      await app.close();
      await cleanup();
      await features.close();
    }
  };

  it('shows its cache figures by default', async () => {
    expect(await metricsWith()).toMatch(/^keel_online_cache_misses_total 1$/m);
  });

  it('has no cache figures with the cache off', async () => {
    expect(await metricsWith(false)).not.toContain('keel_online_cache');
  });
});
