/**
 * @module pipeline/status
 * DVC's change rules (`Stage.changed`), in its short-circuit order: the cmd, then deps and params
 * (never for a frozen stage; always for `always_changed` or a stage without deps), then outs
 * (deleted, modified, or not in the cache).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KeelError } from '../core/index.js';
import { type LockOut, type LockStage, lockOut, type ParamValues, readLock } from './lock.js';
import { getDotted, readParamsFile, sameValue } from './params.js';
import type { Stage } from './schema.js';
import type { Workspace } from './workspace.js';

/** `forced` comes from `--force`; `upstream` marks a stage a dry run would rerun after its upstream. */
export type ChangeStatus =
  | 'new'
  | 'modified'
  | 'deleted'
  | 'not in cache'
  | 'always changed'
  | 'forced'
  | 'upstream';

/** One reason a stage must run. */
export interface Change {
  kind: 'cmd' | 'deps' | 'params' | 'outs';
  status: ChangeStatus;
  /** The dep or out path, or the params file. */
  path?: string;
  /** The param key. */
  key?: string;
}

/** The current values of a stage's tracked params, and the keys that are missing. */
export function currentParams(ws: Workspace, stage: Stage): { values: ParamValues; missing: string[] } {
  const values: ParamValues = {};
  const missing: string[] = [];
  for (const spec of stage.params) {
    const tree = readParamsFile(join(ws.root, stage.wdir, spec.file), spec.file);
    if (!tree) {
      missing.push(spec.file);
      continue;
    }
    const keys = spec.keys ?? Object.keys(tree);
    values[spec.file] = {};
    for (const key of keys) {
      const v = getDotted(tree, key);
      if (v === undefined) missing.push(`${spec.file}:${key}`);
      else values[spec.file][key] = v;
    }
  }
  return { values, missing };
}

/**
 * Hashes a stage's deps as they are now.
 * @throws KeelError FAILED_PRECONDITION naming the stage and the first missing dep.
 */
export async function hashDeps(ws: Workspace, stage: Stage): Promise<LockOut[]> {
  const out: LockOut[] = [];
  for (const dep of stage.deps) {
    const abs = ws.abs(stage, dep);
    if (!existsSync(abs)) {
      throw new KeelError('FAILED_PRECONDITION', `Stage '${stage.name}': dependency '${dep}' does not exist`);
    }
    out.push(lockOut(dep, await ws.hasher.hash(abs)));
  }
  return out;
}

function paramChanges(stage: Stage, values: ParamValues, locked: LockStage['params']): Change[] {
  const changes: Change[] = [];
  for (const spec of stage.params) {
    const now = values[spec.file] ?? {};
    const before = locked?.[spec.file] ?? {};
    const keys = spec.keys ?? [...new Set([...Object.keys(now), ...Object.keys(before)])];
    for (const key of keys) {
      const has = Object.hasOwn(now, key);
      const had = Object.hasOwn(before, key);
      const status: ChangeStatus | undefined = !had
        ? 'new'
        : !has
          ? 'deleted'
          : sameValue(now[key], before[key])
            ? undefined
            : 'modified';
      if (status) changes.push({ kind: 'params', status, path: spec.file, key });
    }
  }
  return changes;
}

async function depChanges(ws: Workspace, stage: Stage, lock: LockStage, all: boolean): Promise<Change[]> {
  const changes: Change[] = [];
  for (const dep of stage.deps) {
    const abs = ws.abs(stage, dep);
    const locked = lock.deps?.find((d) => d.path === dep);
    let status: ChangeStatus | undefined;
    if (!existsSync(abs)) status = 'deleted';
    else if (!locked?.md5) status = 'new';
    else if ((await ws.hasher.hash(abs)).md5 !== locked.md5) status = 'modified';
    if (status) {
      changes.push({ kind: 'deps', status, path: dep });
      if (!all) return changes;
    }
  }
  return [...changes, ...paramChanges(stage, currentParams(ws, stage).values, lock.params)];
}

async function outChanges(ws: Workspace, stage: Stage, lock: LockStage, all: boolean): Promise<Change[]> {
  const changes: Change[] = [];
  for (const out of stage.outs) {
    const abs = ws.abs(stage, out.path);
    const locked = lock.outs?.find((o) => o.path === out.path);
    let status: ChangeStatus | undefined;
    if (!existsSync(abs)) status = 'deleted';
    else if (!locked?.md5) status = 'new';
    else {
      const { md5 } = await ws.hasher.hash(abs);
      if (md5 !== locked.md5) status = 'modified';
      else if (out.cache && !ws.objects.has(md5)) status = 'not in cache';
    }
    if (status) {
      changes.push({ kind: 'outs', status, path: out.path });
      if (!all) return changes;
    }
  }
  return changes;
}

/**
 * Why `stage` must run, compared with its lock entry. With `all` false (repro) it stops at the
 * first reason, as DVC does; with `all` true (status) it lists every one.
 */
export async function stageChanges(
  ws: Workspace,
  stage: Stage,
  lock: LockStage | undefined,
  all = false,
): Promise<Change[]> {
  if (!lock) return [{ kind: 'cmd', status: 'new' }];
  const changes: Change[] = [];
  if (!sameValue(stage.cmd, lock.cmd)) {
    changes.push({ kind: 'cmd', status: 'modified' });
    if (!all) return changes;
  }
  if (!stage.frozen) {
    if (stage.alwaysChanged || stage.deps.length + stage.params.length === 0) {
      changes.push({ kind: 'deps', status: 'always changed' });
      if (!all) return changes;
    } else {
      changes.push(...(await depChanges(ws, stage, lock, all)));
      if (!all && changes.length) return changes;
    }
  }
  changes.push(...(await outChanges(ws, stage, lock, all)));
  return changes;
}

/** A stage that would run, with every reason. */
export interface StageStatus {
  stage: string;
  frozen: boolean;
  changes: Change[];
}

/** `keel status`: the changed stages (of `targets` and their upstream, default all) with all reasons. */
export async function pipelineStatus(ws: Workspace, stages: Stage[]): Promise<StageStatus[]> {
  const lock = readLock(ws.lockPath);
  const out: StageStatus[] = [];
  for (const stage of stages) {
    const changes = await stageChanges(ws, stage, lock.stages[stage.name], true);
    if (changes.length) out.push({ stage: stage.name, frozen: stage.frozen, changes });
  }
  ws.state.flush();
  return out;
}
