/**
 * The churn example's feature repo: customer features computed daily from the UCI Online Retail
 * transactions (Chen 2015, CC BY 4.0, doi:10.24432/C5BW33), as DuckDB SQL.
 *
 * Apply it with `keel features apply --repo examples/churn/features.ts`.
 */
import { fileURLToPath } from 'node:url';
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  defineOnDemandFeatureView,
  fileSource,
  sqlSource,
} from '../../src/features/index.js';

/**
 * The raw transactions. `KEEL_RETAIL_DATA` reads them elsewhere: a CSV, or a Parquet file or glob
 * (such as the partitions `keel ingest` writes under `<home>/offline/`).
 */
export const RETAIL_DATA =
  process.env.KEEL_RETAIL_DATA ?? fileURLToPath(new URL('./data/online_retail.csv.gz', import.meta.url));

/** The last day of the data set: the daily grid runs up to here. */
export const LAST_DAY = '2011-12-09';

export const customer = defineEntity({
  name: 'customer',
  joinKey: 'customer_id',
  description: 'A retail customer (CustomerID, which the CSV writes as a float)',
});

// Cleaning, as the data README lists it: cancellations (C...) and bad-debt adjustments (A...),
// rows without a customer, non-product stock codes (POST, M, C2, D, DOT, CRUK, BANK CHARGES,
// PADS: products start with five digits), non-positive quantities or prices, exact duplicates.
// One feature row per customer per day from the first order on, stamped at the end of that day
// (00:00 the next day), so a day's orders are never visible before the day is over.
// Money is summed as DECIMAL (prices have at most 3 decimals): a window sum of doubles depends on
// the order DuckDB adds them in, which differs between the point-in-time join and
// materialization, and an average such as 5391.21 / 34 = 158.565 then rounds to 158.56 on one
// path and 158.57 on the other: training-serving skew from float arithmetic alone.
const DAILY_CUSTOMER_SQL = `
WITH clean AS (
  SELECT DISTINCT * FROM transactions
  WHERE CustomerID IS NOT NULL
    AND NOT (starts_with(InvoiceNo, 'C') OR starts_with(InvoiceNo, 'A'))
    AND regexp_matches(StockCode, '^[0-9]{5}')
    AND Quantity > 0 AND UnitPrice > 0
),
orders AS (
  SELECT CAST(CustomerID AS BIGINT) AS customer_id, InvoiceNo,
         CAST(min(InvoiceDate) AS DATE) AS day, sum(Quantity * CAST(UnitPrice AS DECIMAL(18, 3))) AS value
  FROM clean GROUP BY CustomerID, InvoiceNo
),
daily AS (
  SELECT customer_id, day, count(*) AS n_orders, sum(value) AS spend FROM orders GROUP BY customer_id, day
),
grid AS (
  SELECT customer_id, CAST(unnest(generate_series(min(day), DATE '${LAST_DAY}', INTERVAL 1 DAY)) AS DATE) AS day
  FROM daily GROUP BY customer_id
),
filled AS (
  SELECT g.customer_id, g.day, coalesce(d.n_orders, 0) AS n_orders, coalesce(d.spend, 0) AS spend,
         CASE WHEN d.n_orders IS NOT NULL THEN g.day END AS order_day
  FROM grid g LEFT JOIN daily d ON d.customer_id = g.customer_id AND d.day = g.day
)
SELECT customer_id,
       CAST(day + INTERVAL 1 DAY AS TIMESTAMP) AS feature_ts,
       sum(n_orders) OVER last30 AS total_orders_30d,
       CAST(round(sum(spend) OVER last30, 2) AS DOUBLE) AS total_spend_30d,
       sum(n_orders) OVER upto AS total_orders,
       round(CAST(sum(spend) OVER upto AS DOUBLE) / sum(n_orders) OVER upto, 2) AS avg_order_value,
       date_diff('day', max(order_day) OVER upto, day) AS days_since_last_order,
       date_diff('day', min(order_day) OVER upto, day) AS tenure_days
FROM filled
WINDOW last30 AS (PARTITION BY customer_id ORDER BY day ROWS BETWEEN 29 PRECEDING AND CURRENT ROW),
       upto AS (PARTITION BY customer_id ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
`;

export const customerFeatures = defineFeatureView({
  name: 'customer_features',
  entities: [customer],
  schema: {
    total_orders_30d: 'int64',
    total_spend_30d: 'float64',
    total_orders: 'int64',
    avg_order_value: 'float64',
    days_since_last_order: 'int64',
    tenure_days: 'int64',
  },
  source: sqlSource({
    sql: DAILY_CUSTOMER_SQL,
    inputs: { transactions: fileSource({ path: RETAIL_DATA, timestampField: 'InvoiceDate' }) },
    timestampField: 'feature_ts',
  }),
  // A daily row is replaced the next day; two days of lookback tolerate one missed run.
  ttl: '2d',
  owner: 'growth-team',
  description: 'Daily order-history features per customer, for churn prediction',
  tags: { domain: 'retail', cadence: 'daily' },
});

/** How the basket at hand compares with the customer's usual order: the same code offline and online. */
export const basketRatio = defineOnDemandFeatureView({
  name: 'basket_ratio',
  request: { basket_value: 'float64' },
  sources: [customerFeatures],
  schema: { basket_vs_avg: 'float64' },
  transform: (row) => ({
    basket_vs_avg:
      row.basket_value === null || !row.avg_order_value
        ? null
        : Math.round((row.basket_value / row.avg_order_value) * 1000) / 1000,
  }),
});

export const churnModel = defineFeatureService({
  name: 'churn_model',
  features: [
    'customer_features:total_orders_30d',
    'customer_features:total_spend_30d',
    'customer_features:total_orders',
    'customer_features:avg_order_value',
    'customer_features:days_since_last_order',
    'customer_features:tenure_days',
  ],
  owner: 'growth-team',
  description: 'The features of the churn model',
});
