/**
 * Readiness against real outages: `keel serve` over PostgreSQL and Redis, each behind a loopback
 * TCP proxy the test drops, stalls and restores (the services keep running for everyone else).
 * `/ready`, OIP's `/v2/health/ready` and `/v2/models/<name>/ready` answer 503 with a body naming
 * the part that is down, without its address or the driver's words, and 200 again once it is
 * back; `/health` and `/v2/health/live` stay liveness. A canary that failed to load is listed as
 * not serving.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../src/core/index.js';
import { Registry } from '../../src/registry/index.js';
import { startServer } from '../../src/server/index.js';
import { writeLogisticModel } from '../helpers/onnx.js';
import { serviceUrl } from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { freshPostgresSchema, tempDir } from '../helpers/tracking.js';
import { waitFor } from '../helpers/wait.js';

const pgUrl = await serviceUrl('postgres');
const redisUrl = await serviceUrl('redis');

interface Reply {
  status: number;
  text: string;
  body: Record<string, unknown>;
}

describe.skipIf(!pgUrl || !redisUrl)('readiness through database and Redis outages', () => {
  let pg: TcpProxy;
  let redis: TcpProxy;
  let dropSchema: () => Promise<void>;
  let server: Awaited<ReturnType<typeof startServer>>;

  const get = async (path: string): Promise<Reply> => {
    const res = await fetch(`${server.url}${path}`);
    const text = await res.text();
    const json = res.headers.get('content-type')?.startsWith('application/json');
    return { status: res.status, text, body: json ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  const ready = () => get('/ready');
  /** Whatever a probe may read must not say where the services are or what their drivers said. */
  const expectNoLeak = (r: Reply) => {
    for (const word of ['127.0.0.1', 'localhost', new URL(pg.url).port, new URL(redis.url).port])
      expect(r.text).not.toContain(word);
    expect(r.text).not.toMatch(/ECONNREFUSED|postgres|connect |search_path/i);
  };

  beforeAll(async () => {
    const schema = await freshPostgresSchema(pgUrl as string);
    dropSchema = schema.drop;
    pg = await startTcpProxy(schema.url);
    redis = await startTcpProxy(redisUrl as string);
    const cwd = tempDir();
    const config = loadConfig({ cwd, env: { KEEL_DB: pg.url, KEEL_ONLINE_STORE: redis.url } });
    const registry = await Registry.open(config);
    await registry.models.create('logit');
    await registry.versions.create({ name: 'logit', source: writeLogisticModel(cwd, [1, 0, 0]) });
    await registry.close();
    server = await startServer(config, {
      port: 0,
      refreshIntervalMs: 0,
      // The alias does not exist: the canary cannot load.
      models: [{ uri: 'models:/logit/1', canary: { uri: 'models:/logit@challenger', percent: 10 } }],
    });
  });
  afterAll(async () => {
    await pg?.up();
    await redis?.up();
    await server?.close();
    await pg?.close();
    await redis?.close();
    await dropSchema?.();
  });

  it('is ready with every part up, and lists the canary that did not load as not serving', async () => {
    const r = await ready();
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({
      status: 'ready',
      checks: {
        database: { status: 'up' },
        online_store: { status: 'up' },
        models: {
          status: 'up',
          served: [
            {
              name: 'logit',
              version: '1',
              canary: { uri: 'models:/logit@challenger', version: null, serving: false, percent: 10 },
            },
          ],
        },
      },
    });
    for (const path of ['/v2/health/ready', '/v2/models/logit/ready', '/v2/models/logit/versions/1/ready'])
      expect([path, (await get(path)).status, (await get(path)).text]).toEqual([path, 200, '']);
  });

  it('answers 503 naming the database while PostgreSQL is gone or stalled, liveness staying 200', {
    timeout: 60_000,
  }, async () => {
    await pg.down();
    onTestFinished(() => pg.up());
    for (const path of ['/ready', '/v2/health/ready', '/v2/models/logit/ready']) {
      const r = await get(path);
      expect([path, r.status]).toEqual([path, 503]);
      expect(r.body).toMatchObject({
        status: 'not_ready',
        checks: {
          database: { status: 'down', reason: 'unreachable' },
          online_store: { status: 'up' },
          models: { status: 'up' },
        },
      });
      expectNoLeak(r);
    }
    for (const path of ['/health', '/v2/health/live']) expect((await get(path)).status).toBe(200);
    await pg.up();
    await waitFor('PostgreSQL to be ready again', ready, (r) => r.status === 200);

    // A database that accepts and never answers costs the probe its timeout, not forever.
    pg.stall();
    const stalled = await ready();
    expect(stalled.status).toBe(503);
    expect(stalled.body.checks).toMatchObject({
      database: { status: 'down', reason: 'did not answer within 2000 ms' },
    });
    expectNoLeak(stalled);
    await pg.up();
    await waitFor('PostgreSQL to answer again', ready, (r) => r.status === 200);
  });

  it('answers 503 naming the online store while Redis is gone, and is ready when it is back', {
    timeout: 60_000,
  }, async () => {
    await redis.down();
    onTestFinished(() => redis.up());
    const r = await ready();
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({
      status: 'not_ready',
      checks: { database: { status: 'up' }, online_store: { status: 'down' } },
    });
    expect((r.body.checks as { online_store: { reason: string } }).online_store.reason).toMatch(
      /^the Redis online store (is not connected|closed the connection|is unavailable since)/,
    );
    expectNoLeak(r);
    expect((await get('/v2/health/ready')).status).toBe(503);
    await redis.up();
    await waitFor('Redis to be ready again', ready, (reply) => reply.status === 200);
  });
});
