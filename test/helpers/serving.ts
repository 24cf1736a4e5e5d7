/**
 * A served world for the serving tests and bench: the tiny feature repo applied and materialized
 * into a SQLite online store, and a registry holding a Keel-trained GBDT `churn` (version 1,
 * registered with the repo's feature refs) plus any extra ONNX models given.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FeatureStore } from '../../src/features/index.js';
import {
  exportOnnx,
  type FeatureMatrix,
  type GbdtModel,
  predictGbdt,
  trainGbdt,
} from '../../src/ml/index.js';
import type { Registry } from '../../src/registry/index.js';
import type { Tracking } from '../../src/tracking/index.js';
import { storeWith, tempHome } from '../features/helpers.js';
import {
  CHURN_FEATURES,
  CUSTOMERS,
  day,
  definitions,
  FEATURE_DAYS,
  featureValues,
  writeSources,
} from './feature-repo.js';
import { openTestRegistry } from './registry.js';

/** The churn model's columns, in order. */
export const COLUMNS = ['tenure', 'orders', 'spend'] as const;
export type Row = Record<(typeof COLUMNS)[number], number | null>;

export interface ServedWorld {
  dir: string;
  store: FeatureStore;
  registry: Registry;
  tracking: Tracking;
  gbdt: GbdtModel;
  /** What the ONNX model should answer for `rows`: the GBDT on their float32 values. */
  expected: (rows: readonly Row[]) => number[];
  close: () => Promise<void>;
}

/**
 * Trains on every (customer, feature day) of the repo. The label mixes all three features so the
 * trees give many distinct scores: a test that crossed two rows' answers would see it.
 */
export function trainChurn(): GbdtModel {
  const rows = FEATURE_DAYS.flatMap((d) =>
    Array.from({ length: CUSTOMERS }, (_, i) => featureValues(i + 1, d)),
  );
  const x: FeatureMatrix = {
    names: [...COLUMNS],
    columns: COLUMNS.map((c) => Float64Array.from(rows, (r) => r[c])),
  };
  const y = Float64Array.from(rows, (r) => (r.orders < 3 || (r.spend > 3 && r.tenure > 12) ? 1 : 0));
  return trainGbdt(x, y, { iterations: 25, learningRate: 0.3, maxLeaves: 6, minSamplesLeaf: 2 });
}

/** `extra` models are registered under their names (version 1) from ONNX bytes. */
export async function servedWorld(extra: Record<string, Uint8Array> = {}): Promise<ServedWorld> {
  const { dir, cleanup } = tempHome();
  await writeSources(dir);
  const store = storeWith(dir, definitions(dir));
  await store.materialize({ start: Date.parse(day(-1)), end: Date.parse(day(21)) });
  const { registry, tracking, cleanup: closeRegistry } = await openTestRegistry('sqlite');
  const gbdt = trainChurn();
  const file = join(dir, 'churn.onnx');
  writeFileSync(file, exportOnnx(gbdt));
  await registry.models.create('churn');
  await registry.versions.create({ name: 'churn', source: file, features: CHURN_FEATURES });
  for (const [name, bytes] of Object.entries(extra)) {
    const path = join(dir, `${name}.onnx`);
    writeFileSync(path, bytes);
    await registry.models.create(name);
    await registry.versions.create({ name, source: path });
  }
  const expected = (rows: readonly Row[]) => {
    const columns = COLUMNS.map((c) =>
      Float64Array.from(rows, (r) => (r[c] === null ? Number.NaN : Math.fround(r[c]))),
    );
    return Array.from(predictGbdt(gbdt, { names: [...COLUMNS], columns }));
  };
  return {
    dir,
    store,
    registry,
    tracking,
    gbdt,
    expected,
    close: async () => {
      await store.close();
      await closeRegistry();
      cleanup();
    },
  };
}
