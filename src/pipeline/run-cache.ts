/**
 * @module pipeline/run-cache
 * DVC's run cache (`dvc/stage/cache.py`): the key is the SHA-256 of a stage's lock entry in
 * Python's sorted JSON with outs reduced to their paths (sizes and file counts dropped), the value
 * the SHA-256 of the whole entry; entries are lock-entry YAML at `runs/<k[:2]>/<k>/<value>`.
 * Lookups read the newest entry of a key only, as DVC does.
 */

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/index.js';
import { isDict, isList, PyDict, type PyValue, pyJsonDumps } from './pyvalue.js';
import { dumpYamlPy } from './yaml-dump.js';
import { parseYamlPy } from './yaml-load.js';

const EXCLUDED = new Set(['size', 'nfiles']);

function filterKeys(value: PyValue): PyValue {
  if (isList(value)) return value.map(filterKeys);
  if (isDict(value))
    return new PyDict(
      [...value].filter(([k]) => !EXCLUDED.has(String(k))).map(([k, v]) => [k, filterKeys(v)]),
    );
  return value;
}

/** DVC's `dict_sha256(d, exclude=[size, nfiles])`. */
export function dictSha256(value: PyValue): string {
  return createHash('sha256')
    .update(pyJsonDumps(filterKeys(value), { sortKeys: true }))
    .digest('hex');
}

/** The run-cache key of a lock entry: outs replaced by their paths. */
export function runCacheKey(entry: PyDict): string {
  const outs = entry.get('outs');
  const probe = new PyDict(entry);
  probe.set('outs', isList(outs) ? outs.filter(isDict).map((o) => o.get('path') ?? null) : []);
  return dictSha256(probe);
}

export class RunCache {
  constructor(readonly root: string) {}

  private dirOf(key: string): string {
    return join(this.root, key.slice(0, 2), key);
  }

  /** The entry already recorded for exactly this lock entry, if any. */
  existing(entry: PyDict): PyDict | undefined {
    const path = join(this.dirOf(runCacheKey(entry)), dictSha256(entry));
    return existsSync(path) ? this.load(path) : undefined;
  }

  /** Records a completed stage's lock entry (its outputs must already be in the object cache). */
  save(entry: PyDict): void {
    const path = join(this.dirOf(runCacheKey(entry)), dictSha256(entry));
    if (!existsSync(path)) writeFileAtomic(path, dumpYamlPy(entry));
  }

  private load(path: string): PyDict | undefined {
    try {
      const entry = parseYamlPy(readFileSync(path, 'utf8'), path);
      return isDict(entry) && entry.has('cmd') ? entry : undefined;
    } catch {
      return undefined;
    }
  }

  /** The newest entry recorded for `key`, or undefined. */
  newest(key: string): PyDict | undefined {
    const dir = this.dirOf(key);
    if (!existsSync(dir)) return undefined;
    const files = readdirSync(dir)
      .filter((f) => !f.endsWith('.tmp'))
      .map((f) => ({ path: join(dir, f), mtime: statSync(join(dir, f)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    return files.length ? this.load(files[0].path) : undefined;
  }

  /** Every entry, for gc (`--keep-run-cache`). */
  *entries(): Generator<PyDict> {
    if (!existsSync(this.root)) return;
    for (const prefix of readdirSync(this.root)) {
      for (const key of readdirSync(join(this.root, prefix))) {
        for (const value of readdirSync(join(this.root, prefix, key))) {
          if (value.endsWith('.tmp')) continue;
          const entry = this.load(join(this.root, prefix, key, value));
          if (entry) yield entry;
        }
      }
    }
  }
}
