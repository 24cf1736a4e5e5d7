/**
 * How fast serving can resolve `models:/` URIs (version, alias, stage) on SQLite, against a bare
 * primary-key SELECT of the same version row in the same run: the floor any resolver pays.
 *
 * Run: npx tsx bench/registry/resolve.ts
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalArtifactStore } from '../../src/artifacts/index.js';
import { Registry } from '../../src/registry/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { Tracking } from '../../src/tracking/index.js';
import { writeLogisticModel } from '../../test/helpers/onnx.js';

const N = 5_000;
const dir = mkdtempSync(join(tmpdir(), 'keel-bench-'));
const db = await openDatabase({ type: 'sqlite', path: join(dir, 'keel.db') });
const tracking = new Tracking(db, new LocalArtifactStore(join(dir, 'artifacts')));
await tracking.init();
const registry = new Registry(tracking, { policy: { productionAlias: 'champion', stages: {} } });
await registry.init();
await registry.models.create('churn');
const file = writeLogisticModel(dir);
for (let i = 0; i < 20; i++) await registry.versions.create({ name: 'churn', source: file });
await registry.promote('churn', 12, 'Production');

async function rate(label: string, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 200; i++) await fn();
  const start = performance.now();
  for (let i = 0; i < N; i++) await fn();
  const perSecond = N / ((performance.now() - start) / 1000);
  console.log(`${label.padEnd(36)} ${Math.round(perSecond).toLocaleString('en-US').padStart(9)} /s`);
  return perSecond;
}

const base = await rate('baseline: SELECT version row by key', () =>
  db.get('SELECT * FROM model_versions WHERE name = ? AND version = ?', ['churn', 12]),
);
for (const uri of ['models:/churn/12', 'models:/churn@champion', 'models:/churn/Production']) {
  const r = await rate(`resolveModelUri ${uri}`, () => registry.resolveModelUri(uri));
  console.log(`${''.padEnd(36)} ratio to baseline: ${(r / base).toFixed(3)}`);
}
await registry.close();
