/**
 * Hot swap under load over a real loopback server, a real registry and a materialized SQLite
 * online store: every response of a sustained load is counted while the alias the server follows
 * moves. A version that can take the requests is swapped in with every response 2xx; a version
 * registered without the feature references `/predict` looks up (as `keel models register churn
 * runs:/<run>/model.onnx --run-id <run>` registers one) is refused: the old version keeps serving
 * every request, and the refusal is in the log, /metrics and the registry.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx } from '../../src/ml/index.js';
import { SERVING_REFUSED_TAG } from '../../src/registry/index.js';
import { buildApp } from '../../src/server/index.js';
import { ModelServer } from '../../src/serving/index.js';
import { CHURN_FEATURES, CUSTOMERS } from '../helpers/feature-repo.js';
import { type ServedWorld, servedWorld } from '../helpers/serving.js';
import { waitFor } from '../helpers/wait.js';

interface Answer {
  status: number;
  version?: string;
  /** The alias had been moved when the request was sent. */
  afterMove: boolean;
}

let world: ServedWorld;
let serving: ModelServer | undefined;
let app: FastifyInstance | undefined;
let logLines: Array<Record<string, unknown>>;
/** The load running now: stopped before the server closes, even when a test fails. */
let running: { stop: () => Promise<void> } | undefined;

beforeAll(async () => {
  world = await servedWorld();
  const file = join(world.dir, 'churn-again.onnx');
  writeFileSync(file, exportOnnx(world.gbdt));
  // Version 2 takes what version 1 serves; version 3 is the same model with no feature references.
  await world.registry.versions.create({ name: 'churn', source: file, features: CHURN_FEATURES });
  await world.registry.versions.create({ name: 'churn', source: file });
});
afterEach(async () => {
  await running?.stop();
  await app?.close();
  await serving?.close();
});
afterAll(async () => {
  await world?.close();
});

/** A server following churn@champion (version 1 now), its log captured line by line. */
async function serve(): Promise<string> {
  await world.registry.setAlias('churn', 'champion', 1);
  logLines = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  serving = await ModelServer.start({
    registry: world.registry,
    features: world.store,
    models: ['models:/churn@champion'],
    refreshIntervalMs: 50,
    logger,
  });
  app = await buildApp({
    services: { tracking: world.tracking, registry: world.registry, features: world.store, serving },
    logger: false,
  });
  return app.listen({ host: '127.0.0.1', port: 0 });
}

/**
 * Keeps 8 clients sending `/predict` by entity keys and `/invocations` rows by name until
 * `stop()`, recording every answer.
 */
function load(base: string, moved: () => boolean) {
  const answers: Answer[] = [];
  let stop = false;
  let n = 0;
  const one = async (): Promise<Answer> => {
    const i = n++;
    const afterMove = moved();
    const customer = (i % CUSTOMERS) + 1;
    const [path, body] =
      i % 2 === 0
        ? ['/predict', { entities: { customer_id: [customer, (customer % CUSTOMERS) + 1] } }]
        : [
            '/invocations',
            { dataframe_split: { columns: ['tenure', 'orders', 'spend'], data: [[customer, i % 7, 2.5]] } },
          ];
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).catch(() => undefined);
    // A connection that failed counts as a failed response (status 0).
    if (!res) return { status: 0, afterMove };
    const text = await res.text();
    const version =
      path === '/predict' && res.ok ? (JSON.parse(text) as { version: string }).version : undefined;
    return { status: res.status, version, afterMove };
  };
  const clients = Array.from({ length: 8 }, async () => {
    while (!stop) answers.push(await one());
  });
  const traffic = {
    answers,
    /** Waits until `count` more answers than now are in. */
    more: (count: number) => {
      const mark = answers.length;
      return waitFor(
        `${count} more answers`,
        async () => answers.length,
        (len) => len >= mark + count,
      );
    },
    stop: async () => {
      stop = true;
      await Promise.all(clients);
    },
  };
  running = traffic;
  return traffic;
}

const metricsText = async (base: string) => (await fetch(`${base}/metrics`)).text();

describe('hot swap under load', () => {
  it('promotes a version that takes the same requests: every response is 2xx, and the new version answers after the swap', async () => {
    const base = await serve();
    let moved = false;
    const traffic = load(base, () => moved);
    await traffic.more(200);
    await world.registry.setAlias('churn', 'champion', 2);
    moved = true;
    await waitFor(
      'the swap to version 2',
      async () => serving?.list()[0].version,
      (v) => v === '2',
    );
    await traffic.more(300);
    await traffic.stop();

    const { answers } = traffic;
    expect(answers.length).toBeGreaterThanOrEqual(500);
    expect(answers.filter((a) => a.status < 200 || a.status >= 300)).toEqual([]);
    const versions = new Set(answers.map((a) => a.version).filter(Boolean));
    expect([...versions].sort()).toEqual(['1', '2']);
    // The last answers all come from version 2: the swap held.
    const last = answers.slice(-100).filter((a) => a.version !== undefined);
    expect(last.length).toBeGreaterThan(0);
    expect(last.every((a) => a.version === '2')).toBe(true);
    expect(serving?.list()[0].lastError).toBeUndefined();
    expect(await metricsText(base)).toContain(
      'keel_model_swap_refusals_total{model="churn",role="primary"} 0',
    );
  });

  it('refuses a version without the feature references in use: the old version answers every request, and the refusal is logged, in /metrics and in the registry', async () => {
    const base = await serve();
    let moved = false;
    const traffic = load(base, () => moved);
    await traffic.more(200);
    await world.registry.setAlias('churn', 'champion', 3);
    moved = true;
    await waitFor(
      'the refusal of version 3',
      async () => serving?.list()[0].lastError,
      (e) => e?.refused === true,
    );
    // Several refreshes pass under load; none loads version 3 again or swaps it in.
    await traffic.more(300);
    await traffic.stop();

    const { answers } = traffic;
    expect(answers.filter((a) => a.status < 200 || a.status >= 300)).toEqual([]);
    expect(new Set(answers.map((a) => a.version).filter(Boolean))).toEqual(new Set(['1']));
    expect(answers.filter((a) => a.afterMove).length).toBeGreaterThanOrEqual(300);
    const [served] = serving?.list() ?? [];
    expect(served).toMatchObject({ version: '1', lastError: { version: '3', refused: true } });
    expect(served.lastError?.message).toMatch(
      /churn version 3 cannot take the requests version 1 serves: it names no features to look up, while version 1 serves \/predict by entity keys \(profile:tenure, activity:orders, activity:spend\)/,
    );

    // The log says it once, at warn, with the reason.
    const refusals = logLines.filter((l) => String(l.msg).startsWith('refused to swap'));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({
      level: 40,
      model: 'churn',
      version: '3',
      serving: '1',
      msg: 'refused to swap to version 3: version 1 keeps serving',
      reason: served.lastError?.message,
    });

    const metrics = await metricsText(base);
    expect(metrics).toContain('keel_model_swap_refusals_total{model="churn",role="primary"} 1');
    expect(metrics).toContain('keel_model_swap_refused{model="churn",role="primary",version="3"} 1');

    const audit = (await world.registry.audit.list('churn')).filter((e) => e.action === 'serving_refused');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      outcome: 'refused',
      version: '3',
      from: '1',
      to: 'primary',
      reason: served.lastError?.message,
    });
    const tag = (await world.registry.versions.get('churn', 3)).tags.find(
      (t) => t.key === SERVING_REFUSED_TAG,
    );
    expect(tag?.value).toContain('primary (serving version 1): churn version 3 cannot take the requests');
  });
});
