/**
 * What a replica pays to start serving a promoted version when the artifacts are on S3 rather than
 * on a local folder: `ServingModel.load` (resolve the URI, verify the sha256 of every file of the
 * version, hand ONNX Runtime a local file, open the session) and `resolveModelUri` alone, on the
 * same SQLite registry and the same model, local store as the baseline, in the same run. The S3
 * store talks to the S3 protocol server of test/helpers on loopback, so the figures hold the
 * protocol's round trips and no network latency: add the bucket's round trip times five (HEAD,
 * LIST, LIST, one GET per file, GET) for a real one.
 *
 * Run: npx tsx bench/registry/s3-load.ts
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ArtifactStore, LocalArtifactStore, S3ArtifactStore } from '../../src/artifacts/index.js';
import { Registry } from '../../src/registry/index.js';
import { ServingModel } from '../../src/serving/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { Tracking } from '../../src/tracking/index.js';
import { writeLogisticModel } from '../../test/helpers/onnx.js';
import { startS3Server } from '../../test/helpers/s3-server.js';

const N = 100;
const s3 = await startS3Server();
Object.assign(process.env, s3.env);

async function registryOn(artifacts: ArtifactStore): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-'));
  const db = await openDatabase({ type: 'sqlite', path: join(dir, 'keel.db') });
  const tracking = new Tracking(db, artifacts);
  await tracking.init();
  const registry = new Registry(tracking, { policy: { productionAlias: 'champion', stages: {} } });
  await registry.init();
  await registry.models.create('churn');
  // A model of some size: 2,000 features.
  const weights = Array.from({ length: 2000 }, (_, i) => Math.sin(i));
  await registry.versions.create({ name: 'churn', source: writeLogisticModel(dir, weights) });
  return registry;
}

async function median(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 10; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < N; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(N / 2)];
}

const stores = {
  local: new LocalArtifactStore(join(mkdtempSync(join(tmpdir(), 'keel-bench-')), 'artifacts')),
  s3: new S3ArtifactStore({
    bucket: 'keel-test',
    prefix: 'bench',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    cacheDir: mkdtempSync(join(tmpdir(), 'keel-bench-cache-')),
  }),
};
const figures: Record<string, { resolve: number; load: number }> = {};
for (const [name, store] of Object.entries(stores)) {
  const registry = await registryOn(store);
  const resolve = await median(() => registry.resolveModelUri('models:/churn/1'));
  const load = await median(async () => (await ServingModel.load(registry, 'models:/churn/1')).release());
  figures[name] = { resolve, load };
  console.log(
    `${name.padEnd(6)} resolveModelUri (verify + local file) median ${resolve.toFixed(2)} ms; ServingModel.load median ${load.toFixed(2)} ms`,
  );
  await registry.close();
}
console.log(
  `ratio s3/local: resolve ${(figures.s3.resolve / figures.local.resolve).toFixed(2)}x, load ${(figures.s3.load / figures.local.load).toFixed(2)}x`,
);
stores.s3.close();
await s3.close();
