/**
 * The whole Keel server for the security tests and the fuzzer: every API family (MLflow tracking,
 * registry, webhooks, governance, the artifact proxy, the Feast feature server, the scoring
 * routes and /feedback) over a fresh store on SQLite or PostgreSQL, listening on loopback, with a
 * token per role when `--auth` is on. `snapshot()` reads everything a request could change (every
 * database table, every file under the artifact root, the online store, the prediction log's
 * counters), so a test can show a refused request changed nothing.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import type { LocalArtifactStore } from '../../src/artifacts/index.js';
import type { FeatureStore } from '../../src/features/index.js';
import { PredictionLog } from '../../src/monitoring/index.js';
import type { Policy, Registry, Role } from '../../src/registry/index.js';
import { buildApp } from '../../src/server/index.js';
import { type RouteEntry, routeTable } from '../../src/server/route-table.js';
import { ModelServer } from '../../src/serving/index.js';
import type { Tracking } from '../../src/tracking/index.js';
import { storeWith, tempHome } from '../features/helpers.js';
import { CHURN_FEATURES, day, definitions, writeSources } from '../helpers/feature-repo.js';
import { logisticModelBytes } from '../helpers/onnx.js';
import { openTestRegistry } from '../helpers/registry.js';
import type { Backend } from '../helpers/tracking.js';

export interface World {
  url: string;
  app: FastifyInstance;
  registry: Registry;
  tracking: Tracking;
  store: FeatureStore;
  log: PredictionLog;
  /** Every route the app serves. */
  routes: readonly RouteEntry[];
  /** A token per role (under `--auth`). */
  tokens: Record<Role, string>;
  /** Ids of objects that exist, to fill path parameters and bodies with. */
  ids: { experimentId: string; runId: string; loggedModelId: string; webhookId: string };
  /** Puts back what requests deleted (the model `churn` with a version, the run, ...); updates `ids`. */
  reseed: () => Promise<void>;
  snapshot: () => Promise<string>;
  close: () => Promise<void>;
}

/** The local folder of a test store's artifacts. */
export const artifactRoot = (tracking: Tracking): string => (tracking.artifacts as LocalArtifactStore).root;

export interface WorldOptions {
  auth?: boolean;
  policy?: Policy;
}

const WEIGHTS = [0.5, -0.25, 1];

function tables(backend: Backend): string {
  return backend === 'sqlite'
    ? "SELECT name AS t FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    : 'SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name';
}

/** Every file under `dir` with its sha256, by relative path. */
function fileDigests(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(join(dir, prefix), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isSymbolicLink()) out.push(`${rel} -> ${readlinkSync(join(dir, rel))}`);
    else if (e.isDirectory()) out.push(`${rel}/`, ...fileDigests(dir, rel));
    else
      out.push(
        `${rel} ${createHash('sha256')
          .update(readFileSync(join(dir, rel)))
          .digest('hex')}`,
      );
  }
  return out.sort();
}

function onlineRows(path: string): unknown {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const names = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all() as Array<{ name: string }>;
    return names.map(({ name }) => [name, db.prepare(`SELECT * FROM "${name}" ORDER BY 1, 2`).all()]);
  } finally {
    db.close();
  }
}

export async function securityWorld(
  backend: Backend,
  postgresUrl: string | undefined,
  options: WorldOptions = {},
): Promise<World> {
  const { dir, cleanup: removeHome } = tempHome();
  await writeSources(dir);
  const store = storeWith(dir, definitions(dir));
  await store.materialize({ start: Date.parse(day(-1)), end: Date.parse(day(21)) });
  const { registry, tracking, cleanup } = await openTestRegistry(backend, postgresUrl, {
    policy: options.policy,
  });
  const modelFile = join(dir, 'churn.onnx');
  writeFileSync(modelFile, logisticModelBytes(WEIGHTS));
  const experimentId = await tracking.experiments.create('security');
  const ids = { experimentId, runId: '', loggedModelId: '', webhookId: '' };
  const alive = async (fn: () => Promise<unknown>) =>
    fn().then(
      () => true,
      () => false,
    );
  const reseed = async () => {
    if (!(await alive(() => registry.models.get('churn')))) await registry.models.create('churn');
    if (!(await alive(() => registry.versions.get('churn', 1))))
      await registry.versions.create({ name: 'churn', source: modelFile, features: CHURN_FEATURES });
    await tracking.experiments.restore(experimentId).catch(() => undefined);
    const run = await tracking.runs.get(ids.runId).catch(() => undefined);
    if (run?.info.lifecycle_stage === 'deleted') await tracking.runs.setLifecycle(ids.runId, 'active');
    if (!run) {
      ids.runId = (await tracking.runs.create({ experimentId, runName: 'r' })).info.run_id;
      await tracking.runs.logBatch(ids.runId, {
        metrics: [{ key: 'roc_auc', value: 0.9, timestamp: 1, step: 0 }],
        params: [{ key: 'p', value: '1' }],
        tags: [{ key: 't', value: 'v' }],
      });
    }
    const onnx = `${experimentId}/${ids.runId}/artifacts/model/model.onnx`;
    if ((await tracking.artifacts.kind(onnx)) !== 'file')
      await tracking.artifacts.put(onnx, logisticModelBytes(WEIGHTS)).catch(() => undefined);
    if (!(await alive(() => tracking.loggedModels.get(ids.loggedModelId))))
      ids.loggedModelId = (
        await tracking.loggedModels.create({ experimentId, name: 'm', sourceRunId: ids.runId })
      ).info.model_id;
    if (!(await alive(() => registry.webhooks.get(ids.webhookId))))
      ids.webhookId = (
        await registry.webhooks.create({
          name: 'hook',
          url: 'http://127.0.0.1:9/hook',
          events: ['model_version.created'],
          status: 'DISABLED',
        })
      ).webhook_id;
  };
  await reseed();
  const serving = await ModelServer.start({ registry, features: store, models: ['models:/churn/1'] });
  const log = new PredictionLog({ home: join(dir, '.keel'), flushIntervalMs: 3_600_000 });
  const app = await buildApp({
    services: { tracking, registry, features: store, serving, predictionLog: log },
    logger: false,
    auth: options.auth,
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const tokens = {} as Record<Role, string>;
  if (options.auth) {
    for (const role of ['reader', 'writer', 'approver', 'admin'] as const)
      tokens[role] = (await registry.tokens.create(`${role}-user`, role)).token;
  }
  const root = artifactRoot(tracking);
  const snapshot = async () => {
    const db = tracking.db;
    const dump: unknown[] = [];
    for (const { t } of await db.all<{ t: string }>(tables(backend))) {
      if (t === 'api_tokens') continue;
      dump.push([t, await db.all(`SELECT * FROM ${t} ORDER BY 1`)]);
    }
    return JSON.stringify({
      db: dump,
      files: fileDigests(root),
      online: onlineRows(join(dir, '.keel', 'online.db')),
      log: log.stats(),
    });
  };
  return {
    url,
    app,
    registry,
    tracking,
    store,
    log,
    routes: routeTable(app),
    tokens,
    ids,
    reseed,
    snapshot,
    close: async () => {
      await app.close();
      await log.close();
      await serving.close();
      await store.close();
      await cleanup();
      removeHome();
    },
  };
}
