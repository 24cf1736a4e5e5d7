/**
 * @module pipeline/paths
 * Where a stage's paths point: dvc.yaml paths are relative to the stage's `wdir`, which is
 * relative to the project root. Keel compares paths as root-relative posix strings.
 */
import { posix, resolve } from 'node:path';
import type { Stage } from './schema.js';

/** A stage path as a root-relative posix path (`data/clean`). */
export function rootRelative(stage: Pick<Stage, 'wdir'>, path: string): string {
  return posix.normalize(posix.join(stage.wdir, path.replaceAll('\\', '/'))).replace(/\/$/, '');
}

/** A stage path as an absolute path on disk. */
export function absolutePath(root: string, stage: Pick<Stage, 'wdir'>, path: string): string {
  return resolve(root, rootRelative(stage, path));
}

/** True when one path equals the other or lies inside it. */
export function overlaps(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`) || a === '.' || b === '.';
}
