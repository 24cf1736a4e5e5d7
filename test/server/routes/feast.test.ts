import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/index.js';
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  type FeatureStore,
  fileSource,
} from '../../../src/features/index.js';
import { feastRoutes } from '../../../src/server/routes/feast.js';
import { storeWith, tempHome } from '../../features/helpers.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2011, 5, 1);
const driver = defineEntity({ name: 'driver', joinKey: 'driver_id' });

describe('Feast feature server routes', () => {
  const { dir, cleanup } = tempHome();
  const clock = new ManualClock(T0 + 2 * DAY);
  let app: FastifyInstance;
  let store: FeatureStore;
  let base: string;

  const post = async (path: string, body: unknown, raw = false) => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: raw ? (body as string) : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    const csv = join(dir, 'stats.csv');
    writeFileSync(
      csv,
      [
        'driver_id,ts,conv_rate,trips',
        `1001,${new Date(T0).toISOString()},0.5,10`,
        `1001,${new Date(T0 + DAY).toISOString()},0.7,12`,
        `1002,${new Date(T0 - 9 * DAY).toISOString()},0.1,3`,
        `1003,${new Date(T0).toISOString()},,7`,
      ].join('\n'),
    );
    const stats = defineFeatureView({
      name: 'driver_stats',
      entities: [driver],
      schema: { conv_rate: 'float64', trips: 'int64' },
      source: fileSource({ path: csv, timestampField: 'ts' }),
      ttl: '7d',
    });
    const service = defineFeatureService({ name: 'ranker', features: ['driver_stats:trips'] });
    store = storeWith(dir, [stats, service], { clock });
    app = Fastify();
    await app.register(feastRoutes, { store });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address() as { port: number };
    base = `http://127.0.0.1:${address.port}`;
    const mat = await post('/materialize', {
      start_ts: '2011-01-01T00:00:00Z',
      end_ts: new Date(T0 + DAY).toISOString(),
    });
    expect(mat.status).toBe(200);
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    cleanup();
  });

  it('answers column-major with statuses and event timestamps, entity keys first', async () => {
    const res = await post('/get-online-features', {
      features: ['driver_stats:conv_rate', 'driver_stats:trips'],
      entities: { driver_id: [1001, 1002, 1003, 1004] },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      metadata: { feature_names: ['driver_id', 'conv_rate', 'trips'] },
      results: [
        {
          values: [1001, 1002, 1003, 1004],
          statuses: ['PRESENT', 'PRESENT', 'PRESENT', 'PRESENT'],
          event_timestamps: Array(4).fill('1970-01-01T00:00:00Z'),
        },
        {
          values: [0.7, null, null, null],
          statuses: ['PRESENT', 'OUTSIDE_MAX_AGE', 'NULL_VALUE', 'NOT_FOUND'],
          event_timestamps: [
            '2011-06-02T00:00:00Z',
            '2011-05-23T00:00:00Z',
            '2011-06-01T00:00:00Z',
            '1970-01-01T00:00:00Z',
          ],
        },
        {
          values: [12, null, 7, null],
          statuses: ['PRESENT', 'OUTSIDE_MAX_AGE', 'PRESENT', 'NOT_FOUND'],
          event_timestamps: [
            '2011-06-02T00:00:00Z',
            '2011-05-23T00:00:00Z',
            '2011-06-01T00:00:00Z',
            '1970-01-01T00:00:00Z',
          ],
        },
      ],
    });
  });

  it('takes a feature service and full feature names', async () => {
    const res = await post('/get-online-features', {
      feature_service: 'ranker',
      entities: { driver_id: [1001] },
      full_feature_names: true,
    });
    expect(res.body.metadata).toEqual({ feature_names: ['driver_id', 'driver_stats__trips'] });
  });

  it('serves rows on the convenience route', async () => {
    const res = await post('/online-features', {
      features: ['driver_stats:trips'],
      entities: [{ driver_id: 1001 }, { driver_id: 9 }],
    });
    expect(res.body).toEqual({
      feature_names: ['driver_id', 'trips'],
      rows: [
        { driver_id: 1001, trips: 12 },
        { driver_id: 9, trips: null },
      ],
      statuses: [
        { driver_id: 'PRESENT', trips: 'PRESENT' },
        { driver_id: 'PRESENT', trips: 'NOT_FOUND' },
      ],
    });
  });

  it('pushes rows online; newer values replace older ones', async () => {
    const at = new Date(T0 + 1.5 * DAY).toISOString();
    const res = await post('/push', {
      push_source_name: 'driver_stats',
      df: { driver_id: [1001, 1005], ts: [at, at], conv_rate: [0.9, 0.2], trips: [13, 1] },
      to: 'online',
    });
    expect(res).toEqual({ status: 200, body: { status: 'ok', rows: 2 } });
    const read = await post('/get-online-features', {
      features: ['driver_stats:trips'],
      entities: { driver_id: [1001, 1005] },
    });
    expect((read.body.results as { values: unknown[] }[])[1].values).toEqual([13, 1]);
  });

  it('materializes incrementally', async () => {
    const res = await post('/materialize-incremental', { end_ts: new Date(T0 + 2 * DAY).toISOString() });
    expect(res.status).toBe(200);
    expect(res.body.views).toEqual([
      {
        view: 'driver_stats',
        start: new Date(T0 + DAY + 1).toISOString(),
        end: new Date(T0 + 2 * DAY).toISOString(),
        rows: 0,
      },
    ]);
  });

  it.each([
    ['a body that is not JSON', '/get-online-features', '{"features": [', 400, /JSON/],
    ['no entities', '/get-online-features', { features: ['driver_stats:trips'] }, 400, /entities/],
    [
      'both features and a service',
      '/get-online-features',
      { features: ['driver_stats:trips'], feature_service: 'ranker', entities: { driver_id: [1] } },
      400,
      /exactly one of features and feature_service/,
    ],
    [
      'ragged entity columns',
      '/get-online-features',
      { features: ['driver_stats:trips'], entities: { driver_id: [1, 2], x: [1] } },
      400,
      /differ in length: driver_id=2, x=1/,
    ],
    [
      'a missing join key',
      '/get-online-features',
      { features: ['driver_stats:trips'], entities: { id: [1] } },
      400,
      /lack join key 'driver_id'/,
    ],
    [
      'a bad feature reference',
      '/get-online-features',
      { features: ['driver stats'], entities: { driver_id: [1] } },
      400,
      /is not of the form/,
    ],
    [
      'an unknown feature',
      '/get-online-features',
      { features: ['driver_stats:nope'], entities: { driver_id: [1] } },
      404,
      /has no feature 'nope'/,
    ],
    [
      'a wrongly typed pushed value',
      '/push',
      {
        push_source_name: 'driver_stats',
        df: { driver_id: [1], ts: ['2011-06-01T00:00:00Z'], trips: [1.5] },
      },
      400,
      /trips\[0\] must be int64, got 1.5/,
    ],
    [
      'a push to the offline store',
      '/push',
      { push_source_name: 'driver_stats', df: { driver_id: [1] }, to: 'offline' },
      400,
      /not supported/,
    ],
    [
      'a bad timestamp',
      '/materialize',
      { start_ts: 'yesterday', end_ts: '2011-01-01' },
      400,
      /start_ts is not a timestamp/,
    ],
  ])('answers %s with %i and a clear message', async (_what, path, body, status, message) => {
    const res = await post(path, body, typeof body === 'string');
    expect(res.status).toBe(status);
    expect(res.body.message).toMatch(message);
  });
});
