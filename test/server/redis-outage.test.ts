/**
 * `/predict` through a Redis outage, with Redis behind a loopback TCP proxy the test stalls, drops
 * and restores (Redis itself keeps running for everyone else): a Redis that accepts and never
 * answers costs one request the read timeout and the next ones nothing (the circuit is open); a
 * Redis that is gone fails requests with 503 at once; the circuit closes when Redis answers again.
 * And a Redis that comes back empty does not get its all-missing rows scored: they are refused.
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { shortId } from '../../src/core/index.js';
import { FeatureStore } from '../../src/features/index.js';
import { buildApp } from '../../src/server/index.js';
import { ModelServer } from '../../src/serving/index.js';
import { day } from '../helpers/feature-repo.js';
import { requestJson } from '../helpers/server.js';
import { serviceUrl } from '../helpers/services.js';
import { type ServedWorld, servedWorld } from '../helpers/serving.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';

const redisUrl = await serviceUrl('redis');

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

describe.skipIf(!redisUrl)('serving through a Redis outage', () => {
  const prefix = `keel-test:${shortId()}:`;
  let world: ServedWorld;
  let proxy: TcpProxy;
  let store: FeatureStore;
  let serving: ModelServer;
  let app: FastifyInstance;
  let base: string;

  const call = (method: string, path: string, body?: unknown): Promise<Reply> =>
    requestJson(base, method, path, body);
  const predict = () => call('POST', '/predict', { model: 'churn', entities: { customer_id: [1, 2] } });

  /** Deletes this suite's keys, and only those, straight on Redis. */
  const deleteKeys = async () => {
    const redis = new Redis(redisUrl as string);
    try {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  };

  beforeAll(async () => {
    world = await servedWorld();
    proxy = await startTcpProxy(redisUrl as string);
    store = new FeatureStore({
      config: {
        root: world.dir,
        home: join(world.dir, '.keel'),
        onlineStore: { type: 'redis', url: proxy.url, timeoutMs: 1000 },
      },
      // Long enough that the requests after the one that opens the circuit meet it open on a
      // loaded machine too; a stalled connection that recovers is tried again after it.
      onlineStoreOptions: { keyPrefix: prefix, circuitCooldownMs: 3000 },
      threads: 1,
    });
    await store.materialize({ start: Date.parse(day(-1)), end: Date.parse(day(21)) });
    serving = await ModelServer.start({
      registry: world.registry,
      features: store,
      models: ['models:/churn/1'],
      refreshIntervalMs: 0,
    });
    app = await buildApp({
      services: { tracking: world.tracking, registry: world.registry, features: store, serving },
      logger: false,
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await proxy?.up();
    await app?.close();
    await serving?.close();
    await store?.close();
    await proxy?.close();
    await world?.close();
    await deleteKeys();
  });

  it('answers 503 after the read timeout when Redis stops answering, then fails fast until it answers', {
    timeout: 60_000,
  }, async () => {
    expect((await predict()).status).toBe(200);
    proxy.stall();
    onTestFinished(() => proxy.up());
    const first = await predict();
    expect(first).toMatchObject({ status: 503, body: { error_code: 'TEMPORARILY_UNAVAILABLE' } });
    expect(first.body.message).toMatch(/Redis online store .*did not answer within 1000 ms/);
    // The circuit is open: the next requests do not wait for Redis at all.
    const second = await predict();
    expect(second).toMatchObject({ status: 503, body: { error_code: 'TEMPORARILY_UNAVAILABLE' } });
    expect(second.body.message).toMatch(
      /Redis online store is unavailable since .* \(it did not answer within 1000 ms\); failing fast/,
    );
    const feast = await call('POST', '/get-online-features', {
      features: ['profile:tenure'],
      entities: { customer_id: [1] },
    });
    expect(feast.status).toBe(503);
    // Neither names where Redis is.
    for (const r of [first, second, feast])
      expect(JSON.stringify(r.body)).not.toMatch(/127\.0\.0\.1|:\d{4,5}\b/);
    await proxy.up();
    await waitFor('the circuit to close', predict, (r) => r.status === 200);
  });

  it('fails at once with 503 while Redis refuses connections, and serves again when it is back', {
    timeout: 60_000,
  }, async () => {
    await proxy.down();
    onTestFinished(() => proxy.up());
    const first = await predict();
    expect(first).toMatchObject({ status: 503, body: { error_code: 'TEMPORARILY_UNAVAILABLE' } });
    expect(first.body.message).toMatch(/the Redis online store (is not connected|closed the connection)/);
    for (let i = 0; i < 2; i++) {
      const r = await predict();
      expect(r).toMatchObject({ status: 503, body: { error_code: 'TEMPORARILY_UNAVAILABLE' } });
      expect(r.body.message).toMatch(/Redis online store is unavailable since .*failing fast/);
    }
    await proxy.up();
    await waitFor('Redis to be used again', predict, (r) => r.status === 200);
  });

  it('refuses rows whose features are all missing when Redis comes back empty, and counts them', {
    timeout: 60_000,
  }, async () => {
    await proxy.down();
    await deleteKeys();
    await proxy.up();
    const r = await waitFor(
      'Redis to answer again',
      predict,
      (reply) => reply.status !== 503 || !/Redis online store/.test(String(reply.body.message)),
    );
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ error_code: 'TEMPORARILY_UNAVAILABLE' });
    expect(r.body.message).toMatch(
      /the input policy of model 'churn' refused 2 rows: row 0: every feature is missing \(allMissing: refuse\); row 1: .*materialize them/,
    );
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(
      /keel_model_input_issues_total\{model="churn",version="1",issue="all_missing",action="refused"\} 2/,
    );
  });
});
