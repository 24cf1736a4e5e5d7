/**
 * Replicas on shared state: two `keel serve` processes on one PostgreSQL schema, one Redis and one
 * S3 artifact store (the S3 protocol server of test/helpers, on loopback) serve
 * `models:/churn/Production`. Under load at both, version 2 is promoted through the MLflow API of
 * one replica; both serve it after their next refresh, and not one request fails. The load is
 * bounded by a count of requests, not by time; the delay from the promotion to each replica's
 * first answer from the new version is printed.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/core/index.js';
import { Registry } from '../../src/registry/index.js';
import { type BackgroundKeel, startKeel } from '../helpers/cli.js';
import { writeLogisticModel } from '../helpers/onnx.js';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.js';
import { requestJson } from '../helpers/server.js';
import { serviceUrl } from '../helpers/services.js';
import { freshPostgresSchema, tempDir } from '../helpers/tracking.js';
import { waitFor } from '../helpers/wait.js';

const pgUrl = await serviceUrl('postgres');
const redisUrl = await serviceUrl('redis');

/** How often each replica re-resolves `models:/churn/Production` (ms). */
const REFRESH_MS = 500;
/** In-flight requests per replica. */
const CONCURRENCY = 8;
/** Requests before the promotion, and after both replicas serve the new version. */
const BEFORE = 600;
const AFTER = 600;
/** The load stops here whatever happened: the test then fails on what it saw. */
const BUDGET = 40_000;

/** sigmoid(4 * x0) for [1, 0, 0]: version 1 answers about 0.98, version 2 (weights -4) about 0.02. */
const versionOf = (p: number) => (p > 0.5 ? '1' : '2');

interface Answer {
  replica: number;
  status: number;
  version?: string;
  /** When the request was sent and answered (ms since the load began). */
  sent: number;
  done: number;
  error?: string;
}

describe.skipIf(!pgUrl || !redisUrl)('two keel serve replicas on PostgreSQL, Redis and S3', () => {
  let s3: TestS3Server;
  let dropSchema: (() => Promise<void>) | undefined;
  const replicas: BackgroundKeel[] = [];
  const urls: string[] = [];
  let cwd: string;

  beforeAll(async () => {
    s3 = await startS3Server();
    for (const [k, v] of Object.entries(s3.env)) vi.stubEnv(k, v);
    const schema = await freshPostgresSchema(pgUrl as string);
    dropSchema = schema.drop;
    cwd = tempDir();
    // The deployment's keel.yaml: every replica reads the same one.
    writeFileSync(
      join(cwd, 'keel.yaml'),
      [
        `metadata: { type: postgres, url: "${schema.url}" }`,
        `onlineStore: { type: redis, url: "${redisUrl}" }`,
        `artifacts: { type: s3, bucket: keel-test, prefix: shared/keel, endpoint: "${s3.endpoint}", forcePathStyle: true }`,
        'governance: { stages: { Production: { gates: [{ kind: servable }] } } }',
        '',
      ].join('\n'),
    );
    const registry = await Registry.open(loadConfig({ cwd, env: {} }));
    try {
      await registry.models.create('churn');
      for (const [i, w] of [4, -4].entries())
        await registry.versions.create({
          name: 'churn',
          source: writeLogisticModel(tempDir(), [w, 0, 0], `v${i + 1}.onnx`),
        });
      expect((await registry.promote('churn', 1, 'Production')).status).toBe('promoted');
    } finally {
      await registry.close();
    }
    for (const r of [0, 1]) {
      const replica = startKeel(
        [
          'serve',
          '--port',
          '0',
          '--model',
          'models:/churn/Production',
          '--refresh-interval',
          String(REFRESH_MS),
          // One process a replica: the workers of one server each switch on their own poll, so a
          // replica of several would not answer from one version then never the other.
          '--workers',
          '1',
        ],
        // Each replica has its own local disk (KEEL_HOME); all state they share is in the services.
        { cwd, env: { ...s3.env, KEEL_HOME: join(cwd, `home-${r}`) } },
      );
      replicas.push(replica);
      const [, url] = await replica.waitFor(/keel serving on (http:\/\/\S+)/);
      urls.push(url);
    }
    for (const url of urls)
      await waitFor(
        `${url}/ready`,
        async () => (await fetch(`${url}/ready`)).status,
        (status) => status === 200,
        { timeoutMs: 60_000 },
      );
  });

  afterAll(async () => {
    for (const r of replicas) await r.stop();
    await dropSchema?.();
    await s3?.close();
    vi.unstubAllEnvs();
  });

  it('serves a promotion made on one replica from both, with no failed request', async () => {
    const t0 = performance.now();
    const now = () => performance.now() - t0;
    const answers: Answer[] = [];
    let promotedAt: number | undefined;
    /** Per replica: when it first answered from version 2. */
    const switched: Array<number | undefined> = [undefined, undefined];
    let afterBoth = 0;
    let sent = 0;

    const wanted = () => {
      if (sent >= BUDGET) return false;
      if (promotedAt === undefined) return true;
      return switched.some((s) => s === undefined) || afterBoth < AFTER;
    };
    const one = async (replica: number) => {
      const a: Answer = { replica, status: 0, sent: now(), done: 0 };
      sent++;
      try {
        const res = await fetch(`${urls[replica]}/invocations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: [[1, 0, 0]] }),
        });
        a.status = res.status;
        const text = await res.text();
        const p = Number(/-?\d+(\.\d+)?(e-?\d+)?/i.exec(JSON.stringify(JSON.parse(text).predictions))?.[0]);
        if (res.status === 200 && Number.isFinite(p)) a.version = versionOf(p);
        else a.error = text.slice(0, 300);
      } catch (err) {
        a.error = String(err);
      }
      a.done = now();
      answers.push(a);
      if (a.version === '2' && switched[replica] === undefined) switched[replica] = a.done;
      if (switched.every((s) => s !== undefined)) afterBoth++;
    };
    const worker = async (replica: number) => {
      while (wanted()) await one(replica);
    };
    const promote = async () => {
      await waitFor(
        `${BEFORE} requests before the promotion`,
        async () => answers.length,
        (n) => n >= BEFORE,
        { timeoutMs: 120_000, everyMs: 20 },
      );
      const at = now();
      const res = await requestJson(urls[0], 'POST', '/api/2.0/mlflow/model-versions/transition-stage', {
        name: 'churn',
        version: '2',
        stage: 'Production',
        archive_existing_versions: true,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.model_version).toMatchObject({ version: '2', current_stage: 'Production' });
      promotedAt = at;
    };
    await Promise.all([
      promote(),
      ...[0, 1].flatMap((r) => Array.from({ length: CONCURRENCY }, () => worker(r))),
    ]);
    const elapsed = now();

    const failed = answers.filter((a) => a.status !== 200 || a.version === undefined);
    expect(failed.slice(0, 5), `${failed.length} failed requests`).toEqual([]);
    expect(
      switched.every((s) => s !== undefined),
      `switched: ${switched}; ${answers.length} requests`,
    ).toBe(true);
    for (const r of [0, 1]) {
      const mine = answers.filter((a) => a.replica === r);
      // Before the promotion, version 1; once a replica answered from version 2, every request
      // sent after that answer gets version 2.
      expect(mine.filter((a) => a.done < promotedAt!).every((a) => a.version === '1')).toBe(true);
      expect(mine.filter((a) => a.sent > switched[r]!).map((a) => a.version)).not.toContain('1');
      expect(mine.filter((a) => a.version === '2').length).toBeGreaterThanOrEqual(AFTER / 4);
    }
    // Each replica loaded version 2 from the one bucket into its own local disk.
    for (const r of [0, 1])
      expect(
        existsSync(
          join(cwd, `home-${r}`, 'cache', 's3-artifacts', 'objects', 'models', 'churn', '2', 'v2.onnx'),
        ),
      ).toBe(true);
    const delays = switched.map((s) => Math.round(s! - promotedAt!));
    console.log(
      `replicas: ${answers.length} requests in ${(elapsed / 1000).toFixed(1)} s (${Math.round(
        (answers.length / elapsed) * 1000,
      )}/s), 0 failed; version 2 served ${delays.join(' ms and ')} ms after the promotion (refresh interval ${REFRESH_MS} ms)`,
    );
  });
});
