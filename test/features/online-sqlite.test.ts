import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CachedOnlineStore,
  defineEntity,
  entityKey,
  type OnlineStore,
  openOnlineStore,
} from '../../src/features/index.js';
import { tempHome } from './helpers.js';
import { describeOnlineStoreContract } from './online-store.contract.js';

const { dir, cleanup } = tempHome();
afterAll(cleanup);

describeOnlineStoreContract('sqlite (with its cache, the default)', () =>
  openOnlineStore({ type: 'sqlite', path: join(dir, 'online.db') }),
);
describeOnlineStoreContract('sqlite without a cache', () =>
  openOnlineStore({ type: 'sqlite', path: join(dir, 'online-bare.db'), cache: false }),
);

const user = defineEntity({ name: 'user', joinKey: 'id' });
const key = (id: number) => entityKey([user], { id });
const payloads = async (store: OnlineStore, view: string, ids: number[]) =>
  (await store.onlineRead(view, ids.map(key))).map((r) => r?.payload);
/** The next event-loop turn: the cache looks at the file's data version once per turn. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('the SQLite cache stays coherent with the file', () => {
  it("serves another connection's and another process's writes from the next turn on, and its own at once", async () => {
    const path = join(dir, 'coherent.db');
    const cached = await openOnlineStore({ type: 'sqlite', path });
    const other = await openOnlineStore({ type: 'sqlite', path, cache: false });
    try {
      expect(cached).toBeInstanceOf(CachedOnlineStore);
      await other.onlineWrite('v', [
        { entityKey: key(1), record: { eventTs: 1, payload: 'one' } },
        { entityKey: key(2), record: { eventTs: 1, payload: 'two' } },
      ]);
      await nextTurn();
      expect(await payloads(cached, 'v', [1, 2, 3])).toEqual(['one', 'two', undefined]);
      expect(await payloads(cached, 'v', [1, 2])).toEqual(['one', 'two']);
      expect((cached as CachedOnlineStore).stats()).toMatchObject({ hits: 2, misses: 3, entries: 2 });

      // Another connection in this process.
      await other.onlineWrite('v', [{ entityKey: key(1), record: { eventTs: 2, payload: 'one, later' } }]);
      await nextTurn();
      expect(await payloads(cached, 'v', [1, 2])).toEqual(['one, later', 'two']);

      // Another process, through SQLite's own file locking.
      await promisify(execFile)(
        process.execPath,
        [
          '-e',
          `const db = new (require('better-sqlite3'))(process.argv[1]);
           db.prepare("UPDATE keel_online SET value = 'two, from elsewhere', event_ts = 3 WHERE view = 'v' AND entity_key = ?")
             .run(Buffer.from(process.argv[2], 'hex'));
           db.close();`,
          path,
          key(2),
        ],
        { cwd: process.cwd() },
      );
      await nextTurn();
      expect(await payloads(cached, 'v', [1, 2])).toEqual(['one, later', 'two, from elsewhere']);

      // Its own write, read back in the same turn.
      await cached.onlineWrite('v', [{ entityKey: key(1), record: { eventTs: 4, payload: 'one, mine' } }]);
      expect(await payloads(cached, 'v', [1])).toEqual(['one, mine']);
      await cached.deleteView('v');
      expect(await payloads(cached, 'v', [1, 2])).toEqual([undefined, undefined]);
    } finally {
      await cached.close();
      await other.close();
    }
  });

  it('reads every view of a request from the cache, and the file only for what it lacks', async () => {
    const path = join(dir, 'views.db');
    const cached = (await openOnlineStore({ type: 'sqlite', path })) as CachedOnlineStore;
    try {
      await cached.onlineWrite('a', [{ entityKey: key(1), record: { eventTs: 1, payload: 'a1' } }]);
      await cached.onlineWrite('b', [
        { entityKey: key(1), record: { eventTs: 1, payload: 'b1' } },
        { entityKey: key(2), record: { eventTs: 1, payload: 'b2' } },
      ]);
      const both = [{ view: 'a' }, { view: 'b' }];
      const read = async (ids: number[]) =>
        (await cached.onlineReadViews(both, ids.map(key))).map((view) => view.map((r) => r?.payload));
      expect(await read([1, 2])).toEqual([
        ['a1', undefined],
        ['b1', 'b2'],
      ]);
      expect(cached.stats()).toMatchObject({ hits: 0, misses: 4, entries: 3 });
      // Entity 2 lacks view a (never cached), so it is read again; entity 1 is whole in memory.
      expect(await read([2, 1])).toEqual([
        [undefined, 'a1'],
        ['b2', 'b1'],
      ]);
      expect(cached.stats()).toMatchObject({ hits: 3, misses: 5, entries: 3 });
    } finally {
      await cached.close();
    }
  });

  it('stays within maxBytes, keeps an entity read often, and frees what rewrites replace', async () => {
    const path = join(dir, 'bounded.db');
    const cached = (await openOnlineStore({
      type: 'sqlite',
      path,
      cache: { maxBytes: 20_000 },
    })) as CachedOnlineStore;
    try {
      const ids = Array.from({ length: 400 }, (_, i) => i);
      const rows = (round: number) =>
        ids.map((id) => ({
          entityKey: key(id),
          record: { eventTs: round, payload: `${round}:${id}`.padEnd(40) },
        }));
      await cached.onlineWrite('v', rows(1));
      // About 60 entries fit. Entity 0 is read between chunks of a sweep through the other 399,
      // so it is never the least recently read when the sweep pushes entries out.
      await payloads(cached, 'v', [0]);
      for (let at = 1; at < ids.length; at += 20) {
        await payloads(cached, 'v', ids.slice(at, at + 20));
        const hits = cached.stats().hits;
        expect((await payloads(cached, 'v', [0]))[0]?.trim()).toBe('1:0');
        expect(cached.stats().hits).toBe(hits + 1);
        expect(cached.stats().bytes).toBeLessThanOrEqual(20_000);
      }
      expect(cached.stats().evictions).toBeGreaterThan(300);
      for (let round = 2; round < 12; round++) {
        await cached.onlineWrite('v', rows(round));
        const all = await payloads(cached, 'v', ids);
        expect(all.map((p) => p?.trim())).toEqual(ids.map((id) => `${round}:${id}`));
        expect(cached.stats().bytes).toBeLessThanOrEqual(20_000);
        expect(cached.stats().entries).toBeGreaterThan(0);
      }
    } finally {
      await cached.close();
    }
  });
});

describe('sqlite online store layout', () => {
  it('refuses a file in the first layout (text keys) with the way out, and leaves it untouched', async () => {
    const path = join(dir, 'old.db');
    const old = new Database(path);
    old.exec(`CREATE TABLE keel_online (entity_key TEXT NOT NULL, view TEXT NOT NULL, event_ts INTEGER NOT NULL,
      created_ts INTEGER, value TEXT NOT NULL, PRIMARY KEY (entity_key, view)) WITHOUT ROWID`);
    old
      .prepare('INSERT INTO keel_online VALUES (?, ?, ?, ?, ?)')
      .run('customer_id=1', 'stats', 1, null, '{}');
    old.close();
    await expect(openOnlineStore({ type: 'sqlite', path })).rejects.toMatchObject({
      code: 'INVALID_STATE',
      message: expect.stringMatching(/first layout.*delete the file and run keel features materialize/),
    });
    const again = new Database(path);
    expect(again.prepare('SELECT count(*) AS n FROM keel_online').get()).toEqual({ n: 1 });
    again.close();
  });
});
