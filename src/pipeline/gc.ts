/**
 * @module pipeline/gc
 * `keel gc`: removes cache objects nothing refers to. Kept: every object dvc.lock refers to (with
 * the files of its `.dir` manifests) and, unless `runCache` is false, those the run cache refers to.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readLock } from './lock.js';
import type { Workspace } from './workspace.js';

export interface GcOptions {
  /** Keep the objects the run cache can restore. Default true; false also empties the run cache. */
  runCache?: boolean;
}

export interface GcResult {
  removed: number;
  /** Bytes freed. */
  bytes: number;
  kept: number;
}

function referenced(ws: Workspace, keepRunCache: boolean): Set<string> {
  const roots = Object.values(readLock(ws.lockPath).stages).flatMap((s) =>
    (s.outs ?? []).map((o) => o.md5 ?? ''),
  );
  if (keepRunCache) roots.push(...ws.runCache.referencedObjects());
  const keep = new Set<string>();
  for (const md5 of roots.filter(Boolean)) {
    keep.add(md5);
    if (md5.endsWith('.dir') && existsSync(ws.objects.pathOf(md5))) {
      for (const e of ws.objects.readManifest(md5)) keep.add(e.md5);
    }
  }
  return keep;
}

/** Removes unreferenced objects from the cache. */
export function gc(ws: Workspace, options: GcOptions = {}): GcResult {
  const keepRunCache = options.runCache !== false;
  const keep = referenced(ws, keepRunCache);
  if (!keepRunCache) rmSync(ws.runCache.root, { recursive: true, force: true });
  const result: GcResult = { removed: 0, bytes: 0, kept: 0 };
  if (!existsSync(ws.objects.root)) return result;
  for (const prefix of readdirSync(ws.objects.root)) {
    for (const rest of readdirSync(join(ws.objects.root, prefix))) {
      if (keep.has(prefix + rest)) {
        result.kept++;
        continue;
      }
      const path = join(ws.objects.root, prefix, rest);
      result.bytes += statSync(path).size;
      rmSync(path, { force: true });
      result.removed++;
    }
  }
  return result;
}
