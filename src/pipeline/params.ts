/**
 * @module pipeline/params
 * Parameter files (`params.yaml` and others, YAML or JSON) and dotted-key access into them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { KeelError } from '../core/index.js';

export type ParamTree = Record<string, unknown>;

/** The default params file of a project, as DVC names it. */
export const DEFAULT_PARAMS_FILE = 'params.yaml';

/**
 * Parses params text by the file's extension (`.json`, else YAML).
 * @throws KeelError INVALID_PARAMETER_VALUE when the text does not parse to a mapping.
 */
export function parseParamsText(text: string, name: string): ParamTree {
  let data: unknown;
  try {
    data = extname(name) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new KeelError('INVALID_PARAMETER_VALUE', `${name} does not parse: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new KeelError('INVALID_PARAMETER_VALUE', `${name} must hold a mapping of parameters`);
  }
  return data as ParamTree;
}

/**
 * Reads a params file; a missing file reads as undefined.
 * @throws KeelError INVALID_PARAMETER_VALUE when it does not parse.
 */
export function readParamsFile(path: string, name = path): ParamTree | undefined {
  if (!existsSync(path)) return undefined;
  return parseParamsText(readFileSync(path, 'utf8'), name);
}

/** The value at a dotted path (`train.lr`), or undefined when any part is missing. */
export function getDotted(tree: unknown, key: string): unknown {
  let cur: unknown = tree;
  for (const part of key.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    const next: unknown = Array.isArray(cur) ? cur[Number(part)] : (cur as Record<string, unknown>)[part];
    if (next === undefined) return undefined;
    cur = next;
  }
  return cur;
}

/** Flattens nested mappings to dotted keys (lists stay values). */
export function flattenParams(
  tree: unknown,
  prefix = '',
  out: Record<string, unknown> = {},
): Record<string, unknown> {
  if (tree !== null && typeof tree === 'object' && !Array.isArray(tree)) {
    const entries = Object.entries(tree as Record<string, unknown>);
    if (entries.length === 0 && prefix) out[prefix] = {};
    for (const [k, v] of entries) flattenParams(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out[prefix] = tree;
  return out;
}

/** Structural equality of JSON-like values. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.hasOwn(rb, k) && sameValue(ra[k], rb[k]));
}
