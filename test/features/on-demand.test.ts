import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/index.js';
import {
  buildRepo,
  defineEntity,
  defineFeatureView,
  defineOnDemandFeatureView,
  fileSource,
} from '../../src/features/index.js';
import { applyOnDemand, bindTransforms } from '../../src/features/on-demand.js';
import { emptyRegistry, planApply, storeOnDemandView } from '../../src/features/registry.js';

const customer = defineEntity({ name: 'customer', joinKey: 'customer_id' });
const stats = defineFeatureView({
  name: 'stats',
  entities: [customer],
  schema: { orders: 'int64', spend: 'float64' },
  source: fileSource({ path: 'x.parquet', timestampField: 'ts' }),
});
const perOrder = defineOnDemandFeatureView({
  name: 'per_order',
  request: { basket: 'float64' },
  sources: [stats],
  schema: { avg: 'float64', big: 'bool' },
  transform: (row) => ({
    avg: row.spend === null || !row.orders ? null : row.spend / row.orders,
    big: row.basket === null ? null : row.basket > 100,
  }),
});

describe('on-demand feature views', () => {
  const bound = [{ spec: storeOnDemandView(perOrder), transform: perOrder.transform }];
  const inputs = { orders: 4, spend: 10 } as Record<string, number | null>;

  it('computes from request fields and stored inputs, passing nulls through', () => {
    const out = applyOnDemand(bound, { basket: 250 }, (_view, f) => inputs[f] ?? null);
    expect(out.get('per_order')).toEqual({ avg: 2.5, big: true });
    const empty = applyOnDemand(bound, {}, () => null);
    expect(empty.get('per_order')).toEqual({ avg: null, big: null });
  });

  it('refuses a transform that throws or returns the wrong type, naming the view', () => {
    const throwing = [{ spec: bound[0].spec, transform: () => JSON.parse('{') }];
    expect(() => applyOnDemand(throwing, {}, () => null)).toThrow(/on-demand view per_order failed/);
    const wrong = [{ spec: bound[0].spec, transform: () => ({ avg: 'high', big: true }) }];
    expect(() => applyOnDemand(wrong, {}, () => null)).toThrow(/returned "high" for avg, declared float64/);
  });

  it('binds transforms from the repo only when their code is the registered code', () => {
    const { data } = planApply(emptyRegistry(), buildRepo([stats, perOrder]));
    expect(bindTransforms(data, buildRepo([stats, perOrder])).get('per_order')).toBe(perOrder.transform);
    const edited = { ...perOrder, transform: () => ({ avg: 0, big: false }) };
    try {
      bindTransforms(data, buildRepo([stats, edited]));
      expect.unreachable();
    } catch (err) {
      expect(isKeelError(err, 'FAILED_PRECONDITION')).toBe(true);
      expect((err as Error).message).toMatch(/per_order .* differs from the registered one/);
    }
  });
});
