/**
 * @module pipeline/run-cache
 * DVC's run cache: the key is the SHA-256 of a stage's lock entry with outs reduced to their paths
 * (sizes and file counts dropped), the value the SHA-256 of the whole entry; entries live at
 * `runs/<k[:2]>/<k>/<value>`. A stage whose cmd, deps and params were seen before gets its outputs
 * back from the cache instead of running.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { writeFileAtomic } from '../core/index.js';
import type { LockStage } from './lock.js';
import type { ObjectStore } from './objects.js';
import { pyJsonDumps } from './pyjson.js';
import type { Stage } from './schema.js';

const EXCLUDED = new Set(['size', 'nfiles']);

function filterKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(filterKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !EXCLUDED.has(k))
        .map(([k, v]) => [k, filterKeys(v)]),
    );
  }
  return value;
}

/** DVC's `dict_sha256(d, exclude=[size, nfiles])`. */
export function dictSha256(value: unknown): string {
  return createHash('sha256')
    .update(pyJsonDumps(filterKeys(value)))
    .digest('hex');
}

/** True when DVC would use the run cache for this stage: cmd, deps and outs, none persistent. */
export function runCacheApplies(stage: Stage): boolean {
  return (
    stage.deps.length + stage.params.length > 0 &&
    stage.outs.length > 0 &&
    stage.outs.every((o) => !o.persist)
  );
}

/** The run-cache key of a lock entry: outs replaced by their paths. */
export function runCacheKey(entry: LockStage): string {
  return dictSha256({ ...entry, outs: (entry.outs ?? []).map((o) => o.path) });
}

export class RunCache {
  constructor(
    readonly root: string,
    private readonly objects: ObjectStore,
  ) {}

  /** Records a completed stage's lock entry (its outputs must already be in the object cache). */
  save(entry: LockStage): void {
    const key = runCacheKey(entry);
    const path = join(this.root, key.slice(0, 2), key, dictSha256(entry));
    if (!existsSync(path))
      writeFileAtomic(path, stringify(entry, { indentSeq: false, singleQuote: true, lineWidth: 0 }));
  }

  /**
   * The newest recorded entry for this key whose outputs are all in the cache, or undefined.
   * @param probe the stage's lock entry with current deps and params; outs need only their paths.
   */
  find(probe: LockStage): LockStage | undefined {
    const dir = join(this.root, runCacheKey(probe).slice(0, 2), runCacheKey(probe));
    if (!existsSync(dir)) return undefined;
    const candidates = readdirSync(dir)
      .filter((f) => !f.endsWith('.tmp'))
      .map((f) => join(dir, f))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    for (const file of candidates) {
      const entry = parseYaml(readFileSync(file, 'utf8')) as LockStage;
      if ((entry.outs ?? []).every((o) => o.md5 && this.objects.has(o.md5))) return entry;
    }
    return undefined;
  }

  /** Every object md5 the run cache refers to (gc keeps them unless asked not to). */
  referencedObjects(): string[] {
    if (!existsSync(this.root)) return [];
    const out: string[] = [];
    for (const prefix of readdirSync(this.root)) {
      for (const key of readdirSync(join(this.root, prefix))) {
        for (const value of readdirSync(join(this.root, prefix, key))) {
          if (value.endsWith('.tmp')) continue;
          const entry = parseYaml(readFileSync(join(this.root, prefix, key, value), 'utf8')) as LockStage;
          for (const o of entry.outs ?? []) if (o.md5) out.push(o.md5);
        }
      }
    }
    return out;
  }
}
