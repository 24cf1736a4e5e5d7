/**
 * The online store contract, run against every backend (see `OnlineStore` in
 * src/features/online-store.ts): newest record wins, idempotent writes, ordered reads of many keys,
 * written counts, and binary keys kept apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineEntity, entityKey, type OnlineStore } from '../../src/features/index.js';

const user = defineEntity({ name: 'user', joinKey: 'id' });
const key = (id: number | bigint) => entityKey([user], { id });

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

    it('reads back what was written, one entry per key, in order, per view', async () => {
      expect(
        await store.onlineWrite('v1', [
          { entityKey: key(1), record: { eventTs: 1000, payload: '{"a":1}' } },
          { entityKey: key(2), record: { eventTs: 2000, createdTs: 5, payload: '{"a":2}' } },
        ]),
      ).toBe(2);
      await store.onlineWrite('v2', [
        { entityKey: key(1), record: { eventTs: 1500, payload: '{"b":0.25}' } },
      ]);
      expect(await store.onlineRead('v1', [key(2), key(3), key(1)])).toEqual([
        { eventTs: 2000, createdTs: 5, payload: '{"a":2}' },
        undefined,
        { eventTs: 1000, createdTs: undefined, payload: '{"a":1}' },
      ]);
      expect(await store.onlineRead('v2', [key(1), key(2)])).toEqual([
        { eventTs: 1500, createdTs: undefined, payload: '{"b":0.25}' },
        undefined,
      ]);
      // A store reading several views at once answers each view's records, in the views' order.
      if (store.onlineReadViews) {
        const v1 = {
          1: { eventTs: 1000, createdTs: undefined, payload: '{"a":1}' },
          2: { eventTs: 2000, createdTs: 5, payload: '{"a":2}' },
        };
        const v2 = { 1: { eventTs: 1500, createdTs: undefined, payload: '{"b":0.25}' } };
        expect(
          await store.onlineReadViews([{ view: 'v2' }, { view: 'v1' }], [key(2), key(3), key(1)]),
        ).toEqual([
          [undefined, undefined, v2[1]],
          [v1[2], undefined, v1[1]],
        ]);
        expect(await store.onlineReadViews([{ view: 'v1' }, { view: 'v2' }], [key(1)])).toEqual([
          [v1[1]],
          [v2[1]],
        ]);
        // One key over several views, one of them without it, each with the features it is read for.
        expect(
          await store.onlineReadViews(
            [
              { view: 'v2', features: ['b'] },
              { view: 'v1', features: ['a'] },
            ],
            [key(2)],
          ),
        ).toEqual([[undefined], [v1[2]]]);
        expect(await store.onlineReadViews([{ view: 'v1' }, { view: 'v2' }], [])).toEqual([[], []]);
      }
    });

    it('keeps the newest record and counts only the rows it took', async () => {
      const write = (eventTs: number, createdTs: number | undefined, a: number) =>
        store.onlineWrite('v1', [{ entityKey: key(9), record: { eventTs, createdTs, payload: `${a}` } }]);
      const read = async () => (await store.onlineRead('v1', [key(9)]))[0]?.payload;
      expect(await write(5000, 1, 1)).toBe(1);
      expect(await write(4000, 9, 2)).toBe(0);
      expect(await read()).toBe('1');
      expect(await write(5000, 0, 3)).toBe(0);
      expect(await write(5000, undefined, 3)).toBe(0);
      expect(await read()).toBe('1');
      expect(await write(5000, 2, 4)).toBe(1);
      expect(await read()).toBe('4');
      await write(6000, undefined, 5);
      expect(await write(6000, undefined, 6)).toBe(1);
      expect(await write(6000, 1, 7)).toBe(1);
      expect(await write(6000, undefined, 8)).toBe(0);
      expect(await read()).toBe('7');
    });

    it('keeps int64 keys beyond 2^53 and look-alike string keys apart', async () => {
      const big = [9007199254740992n, 9007199254740993n];
      const tag = defineEntity({ name: 'tag', joinKey: 't', valueType: 'string' });
      const pair = defineEntity({ name: 'pair', joinKey: 'p', valueType: 'string' });
      const strings = [
        entityKey([tag, pair], { t: 'a|p=b', p: 'c' }),
        entityKey([tag, pair], { t: 'a', p: 'b|t=a|p=c' }),
      ];
      const keys = [...big.map(key), ...strings];
      expect(new Set(keys).size).toBe(4);
      await store.onlineWrite(
        'v2',
        keys.map((k, i) => ({ entityKey: k, record: { eventTs: 1, payload: `${i}` } })),
      );
      expect((await store.onlineRead('v2', keys)).map((r) => r?.payload)).toEqual(['0', '1', '2', '3']);
    });

    it('reads thousands of keys in one call, in order', async () => {
      const ids = Array.from({ length: 3000 }, (_, i) => 100_000 + i);
      await store.onlineWrite(
        'v2',
        ids.map((id) => ({ entityKey: key(id), record: { eventTs: id, payload: `${id}` } })),
      );
      const wanted = [...ids].reverse().concat([4]);
      const got = await store.onlineRead('v2', wanted.map(key));
      expect(got.map((r) => r?.payload ?? null)).toEqual([...wanted.slice(0, -1).map(String), null]);
    });

    it('answers concurrent reads each with its own records, whatever it merges', async () => {
      const ids = Array.from({ length: 600 }, (_, i) => 200_000 + i);
      for (const view of ['v1', 'v2'])
        await store.onlineWrite(
          view,
          ids
            // v2 lacks every third entity, so a merged read mixes present and absent fields.
            .filter((id) => view === 'v1' || id % 3 !== 0)
            .map((id) => ({ entityKey: key(id), record: { eventTs: id, payload: `${view}:${id}` } })),
        );
      const expected = (view: string, id: number) =>
        id >= 200_000 && id < 200_600 && (view === 'v1' || id % 3 !== 0) ? `${view}:${id}` : null;
      const viewSets = [['v1'], ['v2'], ['v1', 'v2'], ['v2', 'v1']];
      // Reads of one turn of the event loop, of every size, views and keys (repeated, absent),
      // two of them large enough together to pass a merged call's size.
      const reads = Array.from({ length: 300 }, (_, i) => {
        const size = i === 7 ? 900 : i === 8 ? 200 : i % 5 === 0 ? 1 + (i % 40) : 1;
        return {
          views: viewSets[i % viewSets.length],
          wanted: Array.from({ length: size }, (_, k) => 200_000 + ((i * 37 + k * 11) % 650)),
        };
      });
      const answers = await Promise.all(
        reads.map(async ({ views, wanted }) => {
          const keys = wanted.map(key);
          return store.onlineReadViews
            ? store.onlineReadViews(
                views.map((view) => ({ view })),
                keys,
              )
            : Promise.all(views.map((view) => store.onlineRead(view, keys)));
        }),
      );
      answers.forEach((answer, i) => {
        const { views, wanted } = reads[i];
        expect(answer.map((records) => records.map((r) => r?.payload ?? null))).toEqual(
          views.map((view) => wanted.map((id) => expected(view, id))),
        );
      });
    });

    it('deletes one view and leaves the others', async () => {
      await store.deleteView('v2');
      expect((await store.onlineRead('v1', [key(1)]))[0]?.payload).toBe('{"a":1}');
      expect(await store.onlineRead('v2', [key(1)])).toEqual([undefined]);
    });

    it('accepts an empty write and an empty read', async () => {
      expect(await store.onlineWrite('v1', [])).toBe(0);
      expect(await store.onlineRead('v1', [])).toEqual([]);
    });
  });
}
