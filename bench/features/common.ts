/** Shared pieces of the feature store benchmarks: temp homes, percentiles, a view of N features. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildRepo,
  defineEntity,
  defineFeatureView,
  FeatureStore,
  type FeatureView,
  fileSource,
  type OnlineStore,
} from '../../src/features/index.js';

export function tempHome(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const customer = defineEntity({ name: 'customer', joinKey: 'customer_id' });

/** A view `wide` with features f0..f{n-1} (float64) read from `path`. */
export function wideView(path: string, n: number, name = 'wide'): FeatureView {
  const schema = Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, 'float64' as const]));
  return defineFeatureView({
    name,
    entities: [customer],
    schema,
    source: fileSource({ path, timestampField: 'ts' }),
  });
}

export function storeIn(
  dir: string,
  views: FeatureView[],
  onlineStore?: OnlineStore,
  threads?: number,
): FeatureStore {
  const store = new FeatureStore({
    config: {
      root: dir,
      home: join(dir, '.keel'),
      onlineStore: { type: 'sqlite', path: join(dir, 'online.db') },
    },
    onlineStore,
    threads,
  });
  store.applyRepo(buildRepo(views));
  return store;
}

/** p50 and p99 of async calls, in microseconds, after a warm-up. */
export async function latency(
  run: () => Promise<unknown>,
  iterations = 5000,
): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < Math.min(500, iterations / 5); i++) await run();
  const samples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const t = process.hrtime.bigint();
    await run();
    samples[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  samples.sort();
  return { p50: samples[Math.floor(iterations * 0.5)], p99: samples[Math.floor(iterations * 0.99)] };
}

export const us = (v: number): string => `${v.toFixed(0).padStart(6)} µs`;
