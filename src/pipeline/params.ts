/**
 * @module pipeline/params
 * Parameter files (`params.yaml` and others, YAML or JSON) as Python values, dotted-key access
 * into them as DVC's `dpath.get` does, and flattening for diffs.
 */
import { KeelError } from '../core/index.js';
import type { ProjectFs } from './project-fs.js';
import { isDict, isList, PyDict, type PyValue, pyStr } from './pyvalue.js';
import { parseDataFile } from './yaml-load.js';

/** The default params file of a project, as DVC names it. */
export const DEFAULT_PARAMS_FILE = 'params.yaml';

/**
 * Parses params text by the file's extension (`.json`, else YAML).
 * @throws KeelError INVALID_PARAMETER_VALUE when the text does not parse to a mapping.
 */
export function parseParamsText(text: string, name: string): PyDict {
  const data = parseDataFile(text, name);
  if (data === null) return new PyDict();
  if (!isDict(data))
    throw new KeelError('INVALID_PARAMETER_VALUE', `${name} must hold a mapping of parameters`);
  return data;
}

/**
 * Reads a params file (path relative to the project root); a missing file reads as undefined.
 * @throws KeelError INVALID_PARAMETER_VALUE when it does not parse.
 */
export function readParamsFile(fs: ProjectFs, path: string): PyDict | undefined {
  const text = fs.read(path);
  return text === undefined ? undefined : parseParamsText(text, path);
}

/** The value at a dotted path (`train.lr`, list items by index), or undefined when any part is missing. */
export function getDotted(tree: PyValue, key: string): PyValue | undefined {
  let cur: PyValue | undefined = tree;
  for (const part of key.split('.')) {
    if (isDict(cur))
      cur = cur.has(part) ? cur.get(part) : /^-?\d+$/.test(part) ? cur.get(Number(part)) : undefined;
    else if (isList(cur) && /^\d+$/.test(part)) cur = cur[Number(part)];
    else return undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

/**
 * The part of `tree` holding only `keys` (dotted), nested as in the file, in the order the keys
 * are listed: DVC's `dpath.search` + `merge` for `params show`.
 */
export function selectKeys(tree: PyDict, keys: string[]): PyDict {
  const out = new PyDict();
  for (const key of new Set(keys)) {
    const value = getDotted(tree, key);
    if (value === undefined) continue;
    const parts = key.split('.');
    let into = out;
    for (const p of parts.slice(0, -1)) {
      let next = into.get(p);
      if (!isDict(next)) {
        next = new PyDict();
        into.set(p, next);
      }
      into = next;
    }
    into.set(parts[parts.length - 1], value);
  }
  return out;
}

/** Flattens nested mappings to dotted keys (lists stay values; an empty mapping is dropped). */
export function flattenDict(
  tree: PyDict,
  prefix = '',
  out = new Map<string, PyValue>(),
): Map<string, PyValue> {
  for (const [k, v] of tree) {
    const key = prefix ? `${prefix}.${pyStr(k as PyValue)}` : pyStr(k as PyValue);
    if (isDict(v)) flattenDict(v, key, out);
    else out.set(key, v);
  }
  return out;
}
