/**
 * @module artifacts/open
 * The artifact store keel.yaml (or `KEEL_ARTIFACTS`) chooses.
 */
import { join } from 'node:path';
import type { KeelConfig } from '../core/index.js';
import { S3ArtifactStore } from './s3-store.js';
import { type ArtifactStore, LocalArtifactStore } from './store.js';

export function openArtifactStore(config: Pick<KeelConfig, 'artifacts' | 'home'>): ArtifactStore {
  const a = config.artifacts;
  if (a.type === 'local') return new LocalArtifactStore(a.root);
  const { type: _, ...options } = a;
  return new S3ArtifactStore({ ...options, cacheDir: join(config.home, 'cache', 's3-artifacts') });
}
