/** Shared set-up for the feature store tests: a temp home and a store over given definitions. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ManualClock } from '../../src/core/index.js';
import { buildRepo, FeatureStore, type OnlineStore } from '../../src/features/index.js';
import { tempDir } from '../helpers/temp.js';

/** A temp folder for a store's home, and the function that removes it. */
export function tempHome(): { dir: string; cleanup: () => void } {
  const dir = tempDir();
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A FeatureStore over a temp home with `definitions` applied and a SQLite online store. */
export function storeWith(
  dir: string,
  definitions: unknown[],
  options: { clock?: ManualClock; onlineStore?: OnlineStore } = {},
): FeatureStore {
  const store = new FeatureStore({
    config: {
      root: dir,
      home: join(dir, '.keel'),
      onlineStore: { type: 'sqlite', path: join(dir, '.keel', 'online.db') },
    },
    clock: options.clock,
    onlineStore: options.onlineStore,
    threads: 1,
  });
  store.applyRepo(buildRepo(definitions));
  return store;
}

/** A deterministic pseudo-random generator (mulberry32), so failures replay. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
