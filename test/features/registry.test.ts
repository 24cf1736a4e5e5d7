import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/index.js';
import {
  buildRepo,
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineOnDemandFeatureView,
  FeatureStore,
  fileSource,
  registryPath,
} from '../../src/features/index.js';
import { tempHome } from './helpers.js';

const customer = defineEntity({ name: 'customer', joinKey: 'customer_id' });
const source = fileSource({ path: 'tx.parquet', timestampField: 'ts' });
const stats = (schema: Record<string, 'int64' | 'float64' | 'string'>, description = 'stats') =>
  defineFeatureView({ name: 'stats', entities: [customer], schema, source, ttl: '30d', description });

describe('feature registry', () => {
  const { dir, cleanup } = tempHome();
  afterAll(cleanup);
  const home = join(dir, '.keel');
  const store = new FeatureStore({
    config: { root: dir, home, onlineStore: { type: 'sqlite', path: ':memory:' } },
  });

  it('creates at version 1, keeps unchanged objects, bumps changed ones', async () => {
    const first = await store.applyRepo(buildRepo([stats({ orders: 'int64' })]));
    expect(first).toContainEqual({ kind: 'featureViews', name: 'stats', change: 'created', version: 1 });
    expect(first).toContainEqual({ kind: 'entities', name: 'customer', change: 'created', version: 1 });
    const again = await store.applyRepo(buildRepo([stats({ orders: 'int64' })]));
    expect(again.find((c) => c.name === 'stats')).toMatchObject({ change: 'unchanged', version: 1 });
    const added = await store.applyRepo(buildRepo([stats({ orders: 'int64', spend: 'float64' }, 'more')]));
    expect(added.find((c) => c.name === 'stats')).toMatchObject({ change: 'updated', version: 2 });
    const saved = JSON.parse(readFileSync(registryPath(home), 'utf8'));
    expect(saved.featureViews.stats.spec.ttl).toBe(30 * 86_400);
    expect(store.featureView('stats').schema).toEqual({ orders: 'int64', spend: 'float64' });
  });

  it('refuses a removed feature or a changed type unless forced, and leaves the registry as it was', async () => {
    const before = readFileSync(registryPath(home), 'utf8');
    const schemas: Record<string, 'int64' | 'float64' | 'string'>[] = [
      { orders: 'int64' },
      { orders: 'string', spend: 'float64' },
    ];
    for (const schema of schemas) {
      try {
        await store.applyRepo(buildRepo([stats(schema)]));
        expect.unreachable();
      } catch (err) {
        expect(isKeelError(err, 'FAILED_PRECONDITION')).toBe(true);
        expect((err as Error).message).toMatch(
          /stats: feature '(spend' was removed|orders' changed type from int64 to string)/,
        );
      }
      expect(readFileSync(registryPath(home), 'utf8')).toBe(before);
    }
    // Every incompatibility of a view is named, not only the first.
    await expect(store.applyRepo(buildRepo([stats({ orders: 'string' })]))).rejects.toThrow(
      /stats: feature 'orders' changed type from int64 to string; stats: feature 'spend' was removed/,
    );
    const forced = await store.applyRepo(buildRepo([stats({ orders: 'int64' })]), { force: true });
    expect(forced.find((c) => c.name === 'stats')).toMatchObject({ change: 'updated', version: 3 });
  });

  it('deletes what the repo no longer defines', async () => {
    const changes = await store.applyRepo(buildRepo([customer]), { force: true });
    expect(changes).toContainEqual({ kind: 'featureViews', name: 'stats', change: 'deleted', version: 3 });
    expect(() => store.featureView('stats')).toThrow(/'stats' is not registered/);
  });

  it('checks references between definitions', async () => {
    const view = defineFeatureView({
      name: 'stats',
      entities: [customer],
      schema: { orders: 'int64' },
      source,
    });
    expect(() => buildRepo([view, defineFeatureService({ name: 'svc', features: ['stats:nope'] })])).toThrow(
      /feature service svc lists 'stats:nope'/,
    );
    const odfv = defineOnDemandFeatureView({
      name: 'ratio',
      request: { amount: 'float64' },
      sources: [view],
      schema: { per_order: 'float64' },
      transform: (row) => ({
        per_order: row.amount === null || !row.orders ? null : row.amount / row.orders,
      }),
    });
    expect(buildRepo([view, odfv]).onDemandFeatureViews.get('ratio')?.inputs).toEqual(['stats:orders']);
    // The registry keeps a hash of the transform's code: changing the code is a new version.
    const store2 = new FeatureStore({
      config: { root: dir, home: join(dir, 'odfv'), onlineStore: { type: 'sqlite', path: ':memory:' } },
    });
    await store2.applyRepo(buildRepo([view, odfv]));
    const changed = { ...odfv, transform: () => ({ per_order: 1 }) };
    expect(
      (await store2.applyRepo(buildRepo([view, changed]))).find((c) => c.name === 'ratio'),
    ).toMatchObject({
      change: 'updated',
      version: 2,
    });
    expect(() =>
      defineFeatureView({ name: 'bad name', entities: [customer], schema: { a: 'int64' }, source }),
    ).toThrow(/feature view name 'bad name'/);
    expect(() =>
      defineFeatureView({ name: 'v', entities: [customer], schema: { customer_id: 'int64' }, source }),
    ).toThrow(/has a join key's name/);
    expect(() =>
      defineFeatureView({ name: 'v', entities: [customer], schema: { a: 'int64' }, source, ttl: '3 days' }),
    ).toThrow(/ttl must be/);
  });
});
