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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
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
const registries = {
  local: await registryOn(stores.local),
  s3: await registryOn(stores.s3),
};
// The two stores take turns, so a change in the machine's load falls on both alike.
const times = {
  local: { resolve: [] as number[], load: [] as number[] },
  s3: { resolve: [] as number[], load: [] as number[] },
};
for (let i = 0; i < N + 10; i++) {
  for (const name of ['local', 's3'] as const) {
    const registry = registries[name];
    const resolve = await timed(() => registry.resolveModelUri('models:/churn/1'));
    const load = await timed(async () => (await ServingModel.load(registry, 'models:/churn/1')).release());
    // The first 10 rounds warm up.
    if (i >= 10) {
      times[name].resolve.push(resolve);
      times[name].load.push(load);
    }
  }
}
for (const name of ['local', 's3'] as const)
  console.log(
    `${name.padEnd(6)} resolveModelUri (verify + local file) median ${median(times[name].resolve).toFixed(2)} ms; ServingModel.load median ${median(times[name].load).toFixed(2)} ms`,
  );
console.log(
  `ratio s3/local: resolve ${(median(times.s3.resolve) / median(times.local.resolve)).toFixed(2)}x, load ${(median(times.s3.load) / median(times.local.load)).toFixed(2)}x`,
);
for (const registry of Object.values(registries)) await registry.close();
stores.s3.close();
await s3.close();
