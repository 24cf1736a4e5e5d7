/**
 * @module pipeline/lock
 * `dvc.lock` as DVC 3 reads and writes it. The file is kept as parsed (entries Keel does not
 * rewrite stay as they are, stages in their order, a removed stage's entry too), and a stage's
 * new entry is built as DVC's `to_single_stage_lockfile`: `cmd`, `deps`, `params`, `outs`; deps
 * and outs sorted by path, each `path, hash: md5, md5, size, nfiles, isexec` (no `hash` for an
 * unchanged DVC 2 entry); params `params.yaml` first, then other files by name, keys sorted. The
 * text is ruamel's (see yaml-dump), written atomically.
 */
import { existsSync, readFileSync } from 'node:fs';
import { KeelError, writeFileAtomic } from '../core/index.js';
import { DEFAULT_PARAMS_FILE } from './params.js';
import { codepointCompare, isDict, isList, PyDict, type PyValue, pyEquals } from './pyvalue.js';
import type { HashName } from './state.js';
import { dumpYamlPy } from './yaml-dump.js';
import { parseYamlPy } from './yaml-load.js';

/** One deps/outs entry of a lock stage. */
export interface LockedItem {
  path: string;
  /** `md5-dos2unix` for a DVC 2 entry (no `hash: md5`). */
  hashName: HashName;
  md5?: string;
  size?: number;
  nfiles?: number;
  isexec?: boolean;
}

/** A parsed lock file: the whole document and its stages by name. */
export interface LockFile {
  doc: PyDict;
  stages: PyDict;
}

const asNumber = (v: PyValue | undefined) => (typeof v === 'number' ? v : undefined);

/** The deps or outs of a lock stage entry. */
export function lockItems(entry: PyDict | undefined, key: 'deps' | 'outs'): LockedItem[] {
  const list = entry?.get(key);
  if (!isList(list)) return [];
  return list.filter(isDict).flatMap((d) => {
    const path = d.get('path');
    if (typeof path !== 'string') return [];
    const md5 = d.get('md5');
    const isexec = d.get('isexec');
    return [
      {
        path,
        hashName: d.has('hash') ? 'md5' : 'md5-dos2unix',
        ...(typeof md5 === 'string' ? { md5 } : {}),
        ...(asNumber(d.get('size')) !== undefined ? { size: asNumber(d.get('size')) } : {}),
        ...(asNumber(d.get('nfiles')) !== undefined ? { nfiles: asNumber(d.get('nfiles')) } : {}),
        ...(isexec === true ? { isexec: true } : {}),
      },
    ];
  });
}

/** The params of a lock stage entry: file -> key -> value. */
export function lockParams(entry: PyDict | undefined): PyDict {
  const p = entry?.get('params');
  return isDict(p) ? p : new PyDict();
}

/** A stage's lock entry, or undefined. */
export function lockStage(lock: LockFile, name: string): PyDict | undefined {
  const e = lock.stages.get(name);
  return isDict(e) ? e : undefined;
}

/** Parses lock text. @throws KeelError INVALID_PARAMETER_VALUE for a malformed lock. */
export function parseLock(text: string, name: string): LockFile {
  const raw = parseYamlPy(text, name);
  if (raw === null) return emptyLock();
  if (!isDict(raw)) throw new KeelError('INVALID_PARAMETER_VALUE', `${name} must hold a mapping`);
  if (!raw.has('schema')) {
    // DVC 1's lock holds stages at the top; DVC 3 migrates it by starting a new one.
    return { doc: raw, stages: raw };
  }
  if (raw.get('schema') !== '2.0') {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `${name}: unsupported lock file schema '${String(raw.get('schema'))}'`,
    );
  }
  let stages = raw.get('stages');
  if (stages === undefined || stages === null) {
    stages = new PyDict();
    raw.set('stages', stages);
  }
  if (!isDict(stages)) throw new KeelError('INVALID_PARAMETER_VALUE', `${name}: 'stages' must be a mapping`);
  for (const [stage, entry] of stages) {
    if (!isDict(entry) || !(typeof entry.get('cmd') === 'string' || isList(entry.get('cmd')))) {
      throw new KeelError('INVALID_PARAMETER_VALUE', `${name}: stage '${String(stage)}' has no cmd`);
    }
  }
  return { doc: raw, stages };
}

export function emptyLock(): LockFile {
  const stages = new PyDict();
  return { doc: PyDict.of({ schema: '2.0', stages }), stages };
}

/** Reads a lock file; a missing one reads as empty. @throws KeelError INVALID_PARAMETER_VALUE. */
export function readLock(path: string): LockFile {
  if (!existsSync(path)) return emptyLock();
  return parseLock(readFileSync(path, 'utf8'), path);
}

/** The lock's text, as DVC's YAML dumper writes it. */
export function formatLock(lock: LockFile): string {
  return dumpYamlPy(lock.doc);
}

/**
 * Sets a stage's entry (keeping the stage's place, or adding it at the end); returns false,
 * changing nothing, when the entry is unchanged.
 */
export function setLockEntry(lock: LockFile, name: string, entry: PyDict): boolean {
  const before = lock.stages.get(name);
  if (before !== undefined && pyEquals(before, entry)) return false;
  if (lock.stages === lock.doc) {
    // A DVC 1 lock is replaced by a new one, as DVC migrates it.
    const fresh = emptyLock();
    lock.doc = fresh.doc;
    lock.stages = fresh.stages;
  }
  lock.stages.set(name, entry);
  return true;
}

/** Writes the lock atomically. */
export function writeLock(path: string, lock: LockFile): void {
  writeFileAtomic(path, formatLock(lock));
}

/** One deps/outs entry in DVC 3's field order. */
export function lockItemDict(item: LockedItem): PyDict {
  const d = new PyDict([['path', item.path]]);
  if (item.hashName === 'md5') d.set('hash', 'md5');
  if (item.md5 !== undefined) d.set('md5', item.md5);
  if (item.size !== undefined) d.set('size', item.size);
  if (item.nfiles !== undefined) d.set('nfiles', item.nfiles);
  if (item.isexec) d.set('isexec', true);
  return d;
}

const byPath = (a: LockedItem, b: LockedItem) => codepointCompare(a.path, b.path);

/** Orders params as DVC does: params.yaml first, then files by name; keys sorted in each. */
export function orderParams(values: Map<string, PyDict>): PyDict {
  const files = [...values.keys()].sort(codepointCompare);
  const ordered = files.includes(DEFAULT_PARAMS_FILE)
    ? [DEFAULT_PARAMS_FILE, ...files.filter((f) => f !== DEFAULT_PARAMS_FILE)]
    : files;
  return new PyDict(
    ordered.map((f) => {
      const d = values.get(f)!;
      const keys = [...d.keys()].sort((a, b) => codepointCompare(String(a), String(b)));
      return [f, new PyDict(keys.map((k) => [k, d.get(k)!]))];
    }),
  );
}

/** A stage's lock entry: cmd, then deps, params and outs when present. */
export function buildLockEntry(
  cmd: string | string[],
  deps: LockedItem[],
  params: Map<string, PyDict>,
  outs: LockedItem[],
): PyDict {
  const entry = new PyDict([['cmd', Array.isArray(cmd) ? [...cmd] : cmd]]);
  if (deps.length) entry.set('deps', [...deps].sort(byPath).map(lockItemDict));
  const p = orderParams(params);
  if (p.size) entry.set('params', p);
  if (outs.length) entry.set('outs', [...outs].sort(byPath).map(lockItemDict));
  return entry;
}
