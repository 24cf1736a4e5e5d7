import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { churnModel, RETAIL_DATA } from '../../../examples/churn/features.js';
import { FeatureStore } from '../../../src/features/index.js';
import { tempHome } from '../../features/helpers.js';

const REPO = resolve(import.meta.dirname, '../../../examples/churn/features.ts');

/** The same features per (customer, cut-off day), by plain filters instead of windows. */
async function independent(data: string, cases: { customer_id: number; day: string }[]) {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const values = cases.map((c, i) => `(${i}, ${c.customer_id}, DATE '${c.day}')`).join(', ');
  const reader = await conn.runAndReadAll(`
    WITH t AS (
      SELECT DISTINCT * FROM read_parquet('${data}')
      WHERE CustomerID IS NOT NULL AND InvoiceNo NOT LIKE 'C%' AND InvoiceNo NOT LIKE 'A%'
        AND StockCode SIMILAR TO '[0-9]{5}.*' AND Quantity > 0 AND UnitPrice > 0
    ), c(i, id, day) AS (VALUES ${values})
    SELECT c.i,
      count(DISTINCT InvoiceNo) FILTER (WHERE CAST(InvoiceDate AS DATE) > c.day - 30) AS total_orders_30d,
      count(DISTINCT InvoiceNo) AS total_orders,
      sum(Quantity * UnitPrice) / count(DISTINCT InvoiceNo) AS avg_order_value,
      c.day - max(CAST(InvoiceDate AS DATE)) AS days_since_last_order
    FROM c JOIN t ON t.CustomerID = c.id AND CAST(t.InvoiceDate AS DATE) <= c.day
    GROUP BY c.i, c.day ORDER BY c.i`);
  const rows = reader
    .getRowObjectsJS()
    .map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)])));
  conn.closeSync();
  return rows;
}

describe.skipIf(!existsSync(RETAIL_DATA))('examples/churn on the real Online Retail data', () => {
  const { dir, cleanup } = tempHome();
  const store = new FeatureStore({
    config: {
      root: dir,
      home: join(dir, '.keel'),
      onlineStore: { type: 'sqlite', path: join(dir, 'online.db') },
    },
  });
  afterAll(async () => {
    await store.close();
    cleanup();
  });

  // Real data: 540k rows. The CSV is parsed once into Parquet (the form ingestion stores), which
  // both the example and the independent computation read.
  it('applies and computes daily customer features that match an independent computation', {
    timeout: 120_000,
  }, async () => {
    const parquet = join(dir, 'online_retail.parquet');
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    await conn.run(
      `COPY (SELECT * FROM read_csv('${RETAIL_DATA}', header = true)) TO '${parquet}' (FORMAT parquet)`,
    );
    conn.closeSync();
    process.env.KEEL_RETAIL_DATA = parquet;
    const changes = await store.apply(REPO).finally(() => {
      delete process.env.KEEL_RETAIL_DATA;
    });
    expect(changes.filter((c) => c.change === 'created').map((c) => c.name)).toEqual(
      expect.arrayContaining(['customer', 'customer_features', 'basket_ratio', 'churn_model']),
    );
    const source = store.featureView('customer_features').source;
    expect(source.kind === 'sql' && source.inputs.transactions).toMatchObject({
      path: parquet,
      format: 'parquet',
    });
    // Each event sees the row of the previous day (stamped at its end), never that day's orders.
    const cases = [
      { customer_id: 17850, event_timestamp: '2011-01-15T09:00:00Z', day: '2011-01-14' },
      { customer_id: 12347, event_timestamp: '2011-08-02T18:30:00Z', day: '2011-08-01' },
      { customer_id: 17850.0, event_timestamp: '2011-03-01T00:00:00Z', day: '2011-02-28' },
    ];
    const result = await store.getHistoricalFeatures({
      entityRows: cases.map(({ customer_id, event_timestamp }) => ({
        customer_id,
        event_timestamp,
        basket_value: 500,
      })),
      features: [...churnModel.features, 'basket_ratio:basket_vs_avg'],
    });
    const wanted = await independent(parquet, cases);
    for (const [i, want] of wanted.entries()) {
      const got = result.rows[i];
      const exact = ['total_orders_30d', 'total_orders', 'days_since_last_order'];
      expect({ i, ...pick(got, exact) }).toEqual({ i, ...pick(want, exact) });
      // The view rounds to cents; sums in a different order differ in the last float bits.
      expect(Math.abs((got.avg_order_value as number) - want.avg_order_value)).toBeLessThanOrEqual(
        0.005 + 1e-9,
      );
      expect(got.basket_vs_avg).toBeCloseTo(500 / (got.avg_order_value as number), 3);
    }
    expect(result.rows.every((r) => (r.total_orders as number) > 0)).toBe(true);
  });
});

function pick(row: Record<string, unknown>, keys: string[]) {
  return Object.fromEntries(keys.map((k) => [k, row[k]]));
}
