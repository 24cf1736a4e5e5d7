import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempHome } from '../../features/helpers.js';
import { keel as runKeel } from '../../helpers/cli.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const { dir, cleanup } = tempHome();
afterAll(cleanup);

async function keel(
  ...args: string[]
): Promise<{ code: number | null; json: Record<string, unknown>; stderr: string }> {
  const run = await runKeel([...args, '--json'], {
    cwd: ROOT,
    env: { KEEL_HOME: join(dir, 'home'), KEEL_ONLINE_STORE: join(dir, 'online.db') },
  });
  return { code: run.code, json: run.stdout ? JSON.parse(run.stdout) : {}, stderr: run.stderr };
}

const repo = (features: string) => `
import { defineEntity, defineFeatureView, defineOnDemandFeatureView, defineFeatureService, fileSource } from '${join(ROOT, 'src/features/index.js')}';
export const customer = defineEntity({ name: 'customer', joinKey: 'customer_id' });
export const stats = defineFeatureView({
  name: 'stats', entities: [customer], ttl: '30d',
  schema: { ${features} },
  source: fileSource({ path: '${join(dir, 'stats.csv')}', timestampField: 'ts' }),
});
export const perOrder = defineOnDemandFeatureView({
  name: 'per_order', request: { amount: 'float64' }, sources: [stats], schema: { amount_per_order: 'float64' },
  transform: (row) => ({ amount_per_order: row.amount === null || !row.orders ? null : row.amount / row.orders }),
});
export const model = defineFeatureService({ name: 'churn_model', features: ['stats:orders', perOrder] });
`;

describe('keel features', () => {
  writeFileSync(
    join(dir, 'stats.csv'),
    'customer_id,ts,orders\n17850,2011-01-01 00:00:00,4\n17850,2011-02-01 00:00:00,5\n13047,2011-01-15 00:00:00,2\n',
  );
  writeFileSync(
    join(dir, 'entities.csv'),
    'customer_id,event_timestamp,amount\n17850,2011-01-20 00:00:00,10\n17850,2011-02-01 00:00:00,10\n13047,2011-02-01 00:00:00,4\n',
  );
  writeFileSync(join(dir, 'features.mts'), repo(`orders: 'int64'`));

  it('applies a TypeScript repo, lists and describes it', async () => {
    const applied = await keel('features', 'apply', '--repo', join(dir, 'features.mts'));
    expect(applied.code).toBe(0);
    expect(applied.json.changes).toContainEqual({
      kind: 'featureViews',
      name: 'stats',
      change: 'created',
      version: 1,
    });
    const listed = await keel('features', 'list');
    expect((listed.json.featureServices as unknown[])[0]).toMatchObject({
      name: 'churn_model',
      features: ['stats:orders', 'per_order'],
    });
    const described = await keel('features', 'describe', 'stats');
    expect(described.json).toMatchObject({ kind: 'featureViews', version: 1, spec: { ttl: 2_592_000 } });
  });

  it('refuses an incompatible change with exit code 7 unless forced', async () => {
    writeFileSync(join(dir, 'features2.mts'), repo(`orders: 'float64'`));
    const refused = await keel('features', 'apply', '--repo', join(dir, 'features2.mts'));
    expect(refused.code).toBe(7);
    expect(refused.json.message).toMatch(/orders' changed type from int64 to float64/);
  });

  it('builds a training set with on-demand features, and serves the same values online', async () => {
    const out = join(dir, 'train.parquet');
    const hist = await keel(
      'features',
      'get-historical',
      '--entities',
      join(dir, 'entities.csv'),
      '--feature-service',
      'churn_model',
      '--out',
      out,
    );
    expect(hist.code).toBe(0);
    expect(hist.json).toMatchObject({
      rowCount: 3,
      columns: ['customer_id', 'event_timestamp', 'amount', 'orders', 'amount_per_order'],
    });
    const printed = await keel(
      'features',
      'get-historical',
      '--entities',
      join(dir, 'entities.csv'),
      '--feature-service',
      'churn_model',
    );
    // The on-demand view and the stored view it reads are both lineage.
    expect(printed.json).toMatchObject({
      features: ['orders', 'amount_per_order'],
      featureViews: ['stats@1', 'per_order@1'],
    });
    expect(
      (printed.json.rows as Record<string, unknown>[]).map((r) => [r.orders, r.amount_per_order]),
    ).toEqual([
      [4, 2.5],
      [5, 2],
      [2, 2],
    ]);
    const mat = await keel(
      'features',
      'materialize',
      '--start',
      '2011-01-01',
      '--end',
      '2011-02-01T00:00:00Z',
    );
    expect(mat.json.views).toEqual([
      { view: 'stats', start: '2011-01-01T00:00:00.000Z', end: '2011-02-01T00:00:00.000Z', rows: 2 },
    ]);
    // The data is old: --at judges max age as of then (without it every value is OUTSIDE_MAX_AGE).
    const online = await keel(
      'features',
      'get-online',
      '--feature-service',
      'churn_model',
      '--entity',
      'customer_id=17850',
      '--entity',
      'amount=10',
      '--at',
      '2011-02-01T12:00:00Z',
    );
    // One JSON shape: the HTTP route's (Feast's snake_case).
    expect(online.json.metadata).toEqual({ feature_names: ['customer_id', 'orders', 'amount_per_order'] });
    const results = online.json.results as {
      values: unknown[];
      statuses: string[];
      event_timestamps: string[];
    }[];
    expect(results.map((r) => [r.values[0], r.statuses[0]])).toEqual([
      [17850, 'PRESENT'],
      [5, 'PRESENT'],
      [2, 'PRESENT'],
    ]);
    expect(results[1].event_timestamps).toEqual(['2011-02-01T00:00:00Z']);
  });

  it('keeps event_timestamp a TIMESTAMP in the Parquet training set', async () => {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const described = await conn.runAndReadAll(`DESCRIBE SELECT * FROM '${join(dir, 'train.parquet')}'`);
    const types = Object.fromEntries(described.getRowObjectsJS().map((r) => [r.column_name, r.column_type]));
    expect(types.event_timestamp).toBe('TIMESTAMP');
    conn.closeSync();
  });

  it('types --entity by the declared entity: an int64 key takes digits only', async () => {
    const bad = await keel(
      'features',
      'get-online',
      '--features',
      'stats:orders',
      '--entity',
      'customer_id=0x1',
    );
    expect(bad.code).toBe(2);
    expect(bad.json.message).toMatch(/--entity customer_id must be an integer, got '0x1'/);
  });

  it('needs --force to delete a whole view, and then removes its online rows', async () => {
    const onlyEntity = join(dir, 'entity-only.mts');
    writeFileSync(
      onlyEntity,
      `import { defineEntity } from '${join(ROOT, 'src/features/index.js')}';\nexport const customer = defineEntity({ name: 'customer', joinKey: 'customer_id' });\n`,
    );
    const refused = await keel('features', 'apply', '--repo', onlyEntity);
    expect(refused.code).toBe(7);
    expect(refused.json.message).toMatch(/stats: feature view deleted/);
    const readOrders = () =>
      keel(
        'features',
        'get-online',
        '--features',
        'stats:orders',
        '--entity',
        'customer_id=17850',
        '--at',
        '2011-02-01T12:00:00Z',
      );
    const still = await readOrders();
    expect((still.json.results as { values: unknown[] }[])[1].values).toEqual([5]);
    const forced = await keel('features', 'apply', '--repo', onlyEntity, '--force');
    expect(forced.code).toBe(0);
    expect(forced.json.changes).toContainEqual({
      kind: 'featureViews',
      name: 'stats',
      change: 'deleted',
      version: 1,
    });
    // Registered again, the view starts empty online: the deleted view's rows went with it.
    expect((await keel('features', 'apply', '--repo', join(dir, 'features.mts'))).code).toBe(0);
    const after = await readOrders();
    expect((after.json.results as { statuses: string[] }[])[1].statuses).toEqual(['NOT_FOUND']);
  });

  it('loads a .ts repo that sits outside a "type": "module" package', async () => {
    const plain = join(dir, 'plain');
    mkdirSync(plain, { recursive: true });
    writeFileSync(join(plain, 'package.json'), '{"name": "plain-repo"}');
    writeFileSync(join(plain, 'features.ts'), repo(`orders: 'int64'`));
    const applied = await keel('features', 'apply', '--repo', join(plain, 'features.ts'));
    expect(applied.code).toBe(0);
    expect(readdirSync(plain).sort()).toEqual(['features.ts', 'package.json']);
  });

  it('answers bad input with a message and a non-zero exit', async () => {
    const bad = await keel('features', 'get-online', '--features', 'stats:nope', '--entity', 'customer_id=1');
    expect(bad.code).toBe(4);
    expect(bad.json.message).toMatch(/stats has no feature 'nope'/);
  });
});
