import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/index.js';
import {
  defineEntity,
  defineFeatureService,
  defineFeatureView,
  definePushSource,
  type FeatureStore,
  fileSource,
  parseExactJson,
  stringifyExact,
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

  const send = async (path: string, body: string, headers: Record<string, string>) => {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers, body });
    return { status: res.status, text: await res.text(), headers: res.headers };
  };
  const post = async (path: string, body: unknown, raw = false) => {
    const res = await send(path, raw ? (body as string) : JSON.stringify(body), {
      'content-type': 'application/json',
    });
    return { status: res.status, body: JSON.parse(res.text), headers: res.headers };
  };
  /** Feast's error detail: a JSON string holding {module, class, message}. */
  const detail = (body: unknown) => JSON.parse(body as string) as Record<string, string>;

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
        `9007199254740993,${new Date(T0).toISOString()},0.9,9007199254740995`,
      ].join('\n'),
    );
    const stats = defineFeatureView({
      name: 'driver_stats',
      entities: [driver],
      schema: { conv_rate: 'float64', trips: 'int64' },
      source: fileSource({ path: csv, timestampField: 'ts' }),
      ttl: '7d',
    });
    // One push source feeding two views, its rows kept in a folder of Parquet files.
    const live = definePushSource({
      name: 'driver_live',
      batchSource: fileSource({ path: join(dir, 'live', '*.parquet'), timestampField: 'ts' }),
    });
    const speed = defineFeatureView({
      name: 'speed',
      entities: [driver],
      schema: { kmh: 'float64' },
      source: live,
    });
    const load = defineFeatureView({
      name: 'load',
      entities: [driver],
      schema: { trips_now: 'int64' },
      source: live,
    });
    const service = defineFeatureService({ name: 'ranker', features: ['driver_stats:trips'] });
    store = storeWith(dir, [stats, speed, load, service], { clock });
    app = Fastify();
    await app.register(feastRoutes, { store });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const mat = await post('/materialize', {
      start_ts: '2011-01-01T00:00:00Z',
      end_ts: new Date(T0 + DAY).toISOString(),
      feature_views: ['driver_stats'],
    });
    expect(mat).toMatchObject({ status: 200, body: null });
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

  it('answers a large request (streamed in pieces) with the same cells as small ones', async () => {
    const ids = [1001, 1002, 1003, 1004, 9007199254740993n];
    const many = Array.from({ length: 6000 }, (_, i) => ids[i % ids.length]);
    const text = (body: unknown) =>
      send('/get-online-features', stringifyExact(body), { 'content-type': 'application/json' });
    const features = ['driver_stats:conv_rate', 'driver_stats:trips'];
    const big = await text({ features, entities: { driver_id: many } });
    expect(big.status).toBe(200);
    expect(big.headers.get('content-type')).toMatch(/^application\/json/);
    const small = parseExactJson((await text({ features, entities: { driver_id: ids } })).text) as {
      results: { values: unknown[]; statuses: string[]; event_timestamps: string[] }[];
    };
    const got = parseExactJson(big.text) as typeof small;
    expect(got.results).toHaveLength(3);
    got.results.forEach((column, c) => {
      for (const field of ['values', 'statuses', 'event_timestamps'] as const) {
        expect(column[field]).toHaveLength(many.length);
        expect(column[field].slice(0, ids.length)).toEqual(small.results[c][field]);
        expect(column[field].slice(-ids.length)).toEqual(small.results[c][field]);
      }
    });
    expect(got.results[2].values[4]).toBe(9007199254740995n);
  });

  it('keeps int64 keys and values beyond 2^53 exact, as JSON integers (as Feast prints them)', async () => {
    const res = await send(
      '/get-online-features',
      '{"features": ["driver_stats:trips"], "entities": {"driver_id": [9007199254740993, 9007199254740992]}}',
      { 'content-type': 'application/json' },
    );
    expect(res.status).toBe(200);
    expect(res.text).toContain('"values":[9007199254740993,9007199254740992]');
    expect(res.text).toContain('"values":[9007199254740995,null]');
    expect(res.text).toContain('"statuses":["PRESENT","NOT_FOUND"]');
  });

  it('takes a JSON body whatever its content type, as the curl example of Feast’s docs sends it', async () => {
    const body = '{"features": ["driver_stats:trips"], "entities": {"driver_id": [1001]}}';
    const types: Record<string, string>[] = [
      { 'content-type': 'application/x-www-form-urlencoded' },
      { 'content-type': 'text/plain' },
      {},
    ];
    for (const headers of types) {
      const res = await send('/get-online-features', body, headers);
      expect({ status: res.status, values: JSON.parse(res.text).results?.[1]?.values }).toEqual({
        status: 200,
        values: [12],
      });
    }
  });

  it('uses the feature service when features come with it, and reports view versions when asked', async () => {
    const res = await post('/get-online-features', {
      features: ['driver_stats:conv_rate'],
      feature_service: 'ranker',
      entities: { driver_id: [1001] },
      full_feature_names: true,
      include_feature_view_version_metadata: true,
    });
    expect(res.body.metadata).toEqual({
      feature_names: ['driver_id', 'driver_stats__trips'],
      feature_view_metadata: [{ name: 'driver_stats', version: 1 }],
    });
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

  it('pushes to a push source that feeds two views, online and offline; stale rows are not written', async () => {
    const at = new Date(T0 + 1.5 * DAY).toISOString();
    const df = { driver_id: [1001, 1005], ts: [at, at], kmh: [80.5, 60], trips_now: [3, 1] };
    const first = await post('/push', { push_source_name: 'driver_live', df, to: 'online_and_offline' });
    expect(first).toMatchObject({ status: 200, body: null });
    expect(first.headers.get('keel-rows-written')).toBe('4');
    expect(readdirSync(join(dir, 'live')).filter((f) => f.endsWith('.parquet'))).toHaveLength(1);
    // One row older than what is stored: Feast would overwrite silently; Keel keeps the newer one.
    const older = new Date(T0 + DAY).toISOString();
    const second = await post('/push', {
      push_source_name: 'driver_live',
      df: { driver_id: [1001], ts: [older], kmh: [1], trips_now: [1] },
    });
    expect([second.headers.get('keel-rows-written'), second.headers.get('keel-rows-stale')]).toEqual([
      '0',
      '2',
    ]);
    const read = await post('/get-online-features', {
      features: ['speed:kmh', 'load:trips_now'],
      entities: { driver_id: [1001, 1005] },
    });
    expect(read.body.results.slice(1).map((c: { values: unknown[] }) => c.values)).toEqual([
      [80.5, 60],
      [3, 1],
    ]);
    // The offline half is read back by the point-in-time join.
    const hist = await store.getHistoricalFeatures({
      entityRows: [{ driver_id: 1005, event_timestamp: new Date(T0 + 2 * DAY) }],
      features: ['speed:kmh'],
    });
    expect(hist.rows[0].kmh).toBe(60);
  });

  it('reads pushed epoch numbers as nanoseconds, as Feast does, and refuses seconds', async () => {
    const ns = BigInt(T0 + 1.75 * DAY) * 1_000_000n;
    const ok = await send(
      '/push',
      `{"push_source_name": "driver_live", "df": {"driver_id": [1006], "ts": [${ns}], "kmh": [1.5], "trips_now": [2]}}`,
      { 'content-type': 'application/json' },
    );
    expect(ok.status).toBe(200);
    const read = await post('/get-online-features', {
      features: ['speed:kmh'],
      entities: { driver_id: [1006] },
    });
    expect(read.body.results[1].event_timestamps).toEqual(['2011-06-02T18:00:00Z']);
    const seconds = await post('/push', {
      push_source_name: 'driver_live',
      df: { driver_id: [1006], ts: [1307000000], kmh: [1], trips_now: [1] },
    });
    expect(seconds.status).toBe(400);
    expect(detail(seconds.body).message).toMatch(/nanoseconds since the epoch.*1970-01-01T00:00:01.307Z/);
  });

  it('refuses a push missing feature columns unless allowed, and then writes them as null', async () => {
    const at = new Date(T0 + 1.8 * DAY).toISOString();
    const df = { driver_id: [1007], ts: [at], kmh: [5] };
    const refused = await post('/push', { push_source_name: 'driver_live', df });
    expect(refused.status).toBe(400);
    expect(detail(refused.body).message).toMatch(/feature columns load:trips_now are missing/);
    const allowed = await post('/push', {
      push_source_name: 'driver_live',
      df,
      allow_missing_features: true,
    });
    expect(allowed.status).toBe(200);
    const read = await post('/get-online-features', {
      features: ['speed:kmh', 'load:trips_now'],
      entities: { driver_id: [1007] },
    });
    expect(read.body.results.slice(1).map((c: { statuses: string[] }) => c.statuses[0])).toEqual([
      'PRESENT',
      'NULL_VALUE',
    ]);
  });

  it('materializes with disable_event_timestamp (no start or end), and incrementally', async () => {
    const res = await post('/materialize', {
      disable_event_timestamp: true,
      feature_views: ['driver_stats'],
    });
    expect(res).toMatchObject({ status: 200, body: null });
    const read = await post('/get-online-features', {
      features: ['driver_stats:trips'],
      entities: { driver_id: [1002] },
    });
    // Stamped with the server's now, so the old row is fresh again.
    expect(read.body.results[1]).toEqual({
      values: [3],
      statuses: ['PRESENT'],
      event_timestamps: ['2011-06-03T00:00:00Z'],
    });
    const inc = await post('/materialize-incremental', {
      end_ts: new Date(T0 + 2 * DAY).toISOString(),
      feature_views: ['driver_stats'],
    });
    expect(inc).toMatchObject({ status: 200, body: null });
  });

  it('answers 413 with REQUEST_LIMIT_EXCEEDED past the body limit', async () => {
    const pad = 'x'.repeat(33 * 1024 * 1024);
    const res = await post('/get-online-features', { features: ['driver_stats:trips'], entities: {}, pad });
    expect(res.status).toBe(413);
    expect(detail(res.body).error_code).toBe('REQUEST_LIMIT_EXCEEDED');
  });

  it.each([
    [
      'a body that is not JSON',
      '/get-online-features',
      '{"features": [',
      400,
      'ValueError',
      /Malformed JSON/,
    ],
    [
      'no entities',
      '/get-online-features',
      { features: ['driver_stats:trips'] },
      422,
      'ValueError',
      /entities/,
    ],
    [
      'a boolean for an int64 key',
      '/get-online-features',
      { features: ['driver_stats:trips'], entities: { driver_id: [true] } },
      400,
      'ValueError',
      /entity key 'driver_id'\[0\] must be an int64, got boolean true/,
    ],
    [
      'a string for an int64 key',
      '/get-online-features',
      { features: ['driver_stats:trips'], entities: { driver_id: ['0x1'] } },
      400,
      'ValueError',
      /must be an int64, got the string "0x1"/,
    ],
    [
      'ragged entity columns',
      '/get-online-features',
      { features: ['driver_stats:trips'], entities: { driver_id: [1, 2], x: [1] } },
      400,
      'ValueError',
      /differ in length: driver_id=2, x=1/,
    ],
    [
      'a missing join key',
      '/get-online-features',
      { features: ['driver_stats:trips'], entities: { id: [1] } },
      400,
      'ValueError',
      /lack join key 'driver_id'/,
    ],
    [
      'an unknown feature view',
      '/get-online-features',
      { features: ['nope:x'], entities: { driver_id: [1] } },
      404,
      'FeatureViewNotFoundException',
      /feature view 'nope'/,
    ],
    [
      'an unknown feature service',
      '/get-online-features',
      { feature_service: 'nope', entities: { driver_id: [1] } },
      404,
      'FeatureServiceNotFoundException',
      /feature service 'nope'/,
    ],
    [
      'an unknown feature',
      '/get-online-features',
      { features: ['driver_stats:nope'], entities: { driver_id: [1] } },
      404,
      'FeastObjectNotFoundException',
      /has no feature 'nope'/,
    ],
    [
      'an unknown push source',
      '/push',
      { push_source_name: 'driver_stats', df: { driver_id: [1] } },
      422,
      'PushSourceNotFoundException',
      /push source 'driver_stats' is not registered/,
    ],
    [
      'a wrongly typed pushed value',
      '/push',
      {
        push_source_name: 'driver_live',
        df: { driver_id: [1], ts: ['2011-06-01T00:00:00Z'], kmh: [1], trips_now: [1.5] },
      },
      400,
      'ValueError',
      /trips_now\[0\] must be int64, got number 1.5/,
    ],
    [
      'no range and no disable_event_timestamp',
      '/materialize',
      { feature_views: ['driver_stats'] },
      422,
      'ValueError',
      /start_ts and end_ts are required/,
    ],
    [
      'a bad timestamp',
      '/materialize',
      { start_ts: 'yesterday', end_ts: '2011-01-01' },
      400,
      'ValueError',
      /start_ts is not a timestamp/,
    ],
  ])(
    'answers %s with its status and Feast’s error detail',
    async (_what, path, body, status, cls, message) => {
      const res = await post(path, body, typeof body === 'string');
      expect(res.status).toBe(status);
      const d = detail(res.body);
      expect(d.class).toBe(cls);
      expect(d.module).toBe(cls === 'ValueError' ? 'builtins' : 'feast.errors');
      expect(d.message).toMatch(message);
    },
  );
});
