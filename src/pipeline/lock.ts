/**
 * @module pipeline/lock
 * `dvc.lock` as DVC 3 reads and writes it: `schema: '2.0'`, then per stage `cmd`, `deps`,
 * `params`, `outs` in that order; deps and outs sorted by path, each `path, hash: md5, md5, size,
 * nfiles`; params by value, `params.yaml` first, other files by name, keys sorted. Written
 * atomically, so a killed run leaves the previous lock whole.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml, stringify } from 'yaml';
import { z } from 'zod';
import { KeelError, parseInput, writeFileAtomic } from '../core/index.js';
import type { HashInfo } from './hash.js';
import { DEFAULT_PARAMS_FILE } from './params.js';

const lockOutSchema = z.looseObject({
  path: z.string(),
  hash: z.string().optional(),
  md5: z.string().optional(),
  size: z.number().optional(),
  nfiles: z.number().optional(),
});

const lockStageSchema = z.looseObject({
  cmd: z.union([z.string(), z.array(z.string())]),
  deps: z.array(lockOutSchema).optional(),
  params: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  outs: z.array(lockOutSchema).optional(),
});

const lockFileSchema = z.looseObject({
  schema: z.literal('2.0'),
  stages: z.record(z.string(), lockStageSchema).default({}),
});

export type LockOut = z.infer<typeof lockOutSchema>;
export type LockStage = z.infer<typeof lockStageSchema>;
export type LockFile = z.infer<typeof lockFileSchema>;
/** params file -> dotted key -> value. */
export type ParamValues = Record<string, Record<string, unknown>>;

/** Parses lock text. @throws KeelError INVALID_PARAMETER_VALUE for a malformed lock. */
export function parseLock(text: string, name: string): LockFile {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new KeelError('INVALID_PARAMETER_VALUE', `${name} is not valid YAML: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseInput(lockFileSchema, raw ?? { schema: '2.0' }, name);
}

/** Reads a lock file; a missing one reads as empty. @throws KeelError INVALID_PARAMETER_VALUE. */
export function readLock(path: string): LockFile {
  if (!existsSync(path)) return { schema: '2.0', stages: {} };
  return parseLock(readFileSync(path, 'utf8'), path);
}

/** The lock's text, formatted as DVC's YAML dumper formats it. */
export function formatLock(lock: LockFile): string {
  return stringify(
    { schema: '2.0', stages: lock.stages },
    { indentSeq: false, singleQuote: true, lineWidth: 0 },
  );
}

/** Writes the lock atomically. */
export function writeLock(path: string, lock: LockFile): void {
  writeFileAtomic(path, formatLock(lock));
}

/** One deps/outs entry in DVC 3's field order. */
export function lockOut(path: string, info: HashInfo): LockOut {
  return {
    path,
    hash: 'md5',
    md5: info.md5,
    size: info.size,
    ...(info.nfiles !== undefined ? { nfiles: info.nfiles } : {}),
  };
}

const byPath = (a: LockOut, b: LockOut) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** Orders params as DVC does: params.yaml first, then files by name; keys sorted in each. */
export function orderParams(values: ParamValues): ParamValues {
  const files = Object.keys(values).sort((a, b) =>
    a === DEFAULT_PARAMS_FILE ? -1 : b === DEFAULT_PARAMS_FILE ? 1 : a < b ? -1 : 1,
  );
  return Object.fromEntries(
    files.map((f) => [
      f,
      Object.fromEntries(
        Object.keys(values[f])
          .sort()
          .map((k) => [k, values[f][k]]),
      ),
    ]),
  );
}

/** A stage's lock entry: cmd, then deps, params and outs when present. */
export function lockStage(
  cmd: string | string[],
  deps: LockOut[],
  params: ParamValues,
  outs: LockOut[],
): LockStage {
  return {
    cmd,
    ...(deps.length ? { deps: [...deps].sort(byPath) } : {}),
    ...(Object.keys(params).length ? { params: orderParams(params) } : {}),
    ...(outs.length ? { outs: [...outs].sort(byPath) } : {}),
  };
}
