/**
 * The online store contract, run against every backend (see `OnlineStore` in
 * src/features/online-store.ts): newest record wins, idempotent writes, ordered reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnlineStore } from '../../src/features/index.js';

export function describeOnlineStoreContract(
  name: string,
  open: () => Promise<OnlineStore | undefined>,
): void {
  describe(`online store contract: ${name}`, () => {
    let store: OnlineStore;
    beforeAll(async () => {
      const opened = await open();
      if (!opened) throw new Error(`${name} is not available`);
      store = opened;
    });
    afterAll(async () => {
      await store.deleteView('v1');
      await store.deleteView('v2');
      await store.close();
    });

    it('reads back what was written, one entry per request and view, in order', async () => {
      await store.onlineWrite('v1', [
        { entityKey: 'id=1', record: { eventTs: 1000, values: { a: 1, s: 'x', n: null } } },
        { entityKey: 'id=2', record: { eventTs: 2000, createdTs: 5, values: { a: 2, s: 'y', n: true } } },
      ]);
      await store.onlineWrite('v2', [{ entityKey: 'id=1', record: { eventTs: 1500, values: { b: 0.25 } } }]);
      const got = await store.onlineRead([
        { entityKey: 'id=1', views: ['v2', 'v1'] },
        { entityKey: 'id=3', views: ['v1'] },
        { entityKey: 'id=2', views: ['v1', 'v2'] },
      ]);
      expect(got).toEqual([
        [
          { eventTs: 1500, createdTs: undefined, values: { b: 0.25 } },
          { eventTs: 1000, createdTs: undefined, values: { a: 1, s: 'x', n: null } },
        ],
        [undefined],
        [{ eventTs: 2000, createdTs: 5, values: { a: 2, s: 'y', n: true } }, undefined],
      ]);
    });

    it('keeps the newest record: later event wins, ties go to the later created, replays change nothing', async () => {
      const write = (eventTs: number, createdTs: number, a: number) =>
        store.onlineWrite('v1', [{ entityKey: 'id=9', record: { eventTs, createdTs, values: { a } } }]);
      const read = async () =>
        (await store.onlineRead([{ entityKey: 'id=9', views: ['v1'] }]))[0][0]?.values.a;
      await write(5000, 1, 1);
      await write(4000, 9, 2);
      expect(await read()).toBe(1);
      await write(5000, 0, 3);
      expect(await read()).toBe(1);
      await write(5000, 2, 4);
      expect(await read()).toBe(4);
      await write(5000, 2, 4);
      await write(6000, 0, 5);
      expect(await read()).toBe(5);
    });

    it('deletes one view and leaves the others', async () => {
      await store.deleteView('v2');
      const got = await store.onlineRead([{ entityKey: 'id=1', views: ['v1', 'v2'] }]);
      expect(got[0][0]?.values.a).toBe(1);
      expect(got[0][1]).toBeUndefined();
    });

    it('accepts an empty write and an empty read', async () => {
      await store.onlineWrite('v1', []);
      expect(await store.onlineRead([])).toEqual([]);
    });
  });
}
