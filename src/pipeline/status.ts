/**
 * @module pipeline/status
 * DVC's change rules, per stage against its lock entry (`Stage.changed` for repro, which stops at
 * the first reason, and `Stage.status` for `status`, which lists all of them):
 * - a dep is `deleted`, or `modified` when its hash (DVC 2's for a DVC 2 entry) differs;
 * - a params file is `deleted`, `new` (no values in the lock), or per key `new`/`deleted`/`modified`
 *   (Python equality: `1 == 1.0`);
 * - an out is `not in cache` when its cached object is missing or does not hash to its name, else
 *   `deleted` (or ignored by .dvcignore) or `modified`;
 * - a stage with `always_changed`, or with a cmd and neither deps nor outs, is `always changed`;
 *   a changed cmd is `changed command`; a frozen stage's deps are not looked at.
 */
import { existsSync, statSync } from 'node:fs';
import { KeelError } from '../core/index.js';
import { type LockedItem, lockItems, lockParams, lockStage, readLock } from './lock.js';
import { getDotted, readParamsFile } from './params.js';
import { rootRelative } from './paths.js';
import { workspaceFs } from './project-fs.js';
import { dictGet, isDict, PyDict, type PyKey, pyEquals } from './pyvalue.js';
import type { OutSpec, ParamsSpec, Stage } from './schema.js';
import type { HashName } from './state.js';
import type { Workspace } from './workspace.js';

/** A dep or out of a stage together with what the lock recorded for it. */
export interface BoundItem {
  /** As written in dvc.yaml (relative to the stage's wdir): the lock's `path`. */
  path: string;
  abs: string;
  hashName: HashName;
  locked?: LockedItem;
}

export interface BoundOut extends BoundItem {
  spec: OutSpec;
}

/** `{path: status}` or, for a params file, `{file: {key: status}}`. */
export type ChangedMap = Record<string, string | Record<string, string>>;
/** One entry of a stage's status, as `dvc status --json` prints it. */
export type StatusEntry = { 'changed deps': ChangedMap } | { 'changed outs': ChangedMap } | string;

function bind(ws: Workspace, stage: Stage, path: string, locked: LockedItem | undefined): BoundItem {
  return { path, abs: ws.abs(stage, path), hashName: locked?.hashName ?? 'md5', locked };
}

/** A stage's deps with their lock entries. */
export function boundDeps(ws: Workspace, stage: Stage, entry: PyDict | undefined): BoundItem[] {
  const locked = lockItems(entry, 'deps');
  return stage.deps.map((d) =>
    bind(
      ws,
      stage,
      d,
      locked.find((l) => l.path === d),
    ),
  );
}

/** A stage's outs with their lock entries. */
export function boundOuts(ws: Workspace, stage: Stage, entry: PyDict | undefined): BoundOut[] {
  const locked = lockItems(entry, 'outs');
  return stage.outs.map((o) => ({
    ...bind(
      ws,
      stage,
      o.path,
      locked.find((l) => l.path === o.path),
    ),
    spec: o,
  }));
}

/** True when a stage runs on every repro: `always_changed`, or a cmd with neither deps nor outs. */
export function alwaysChanged(stage: Stage): boolean {
  return stage.alwaysChanged || stage.deps.length + stage.params.length + stage.outs.length === 0;
}

/** True when the stage has a lock entry whose cmd differs. */
export function cmdChanged(stage: Stage, entry: PyDict | undefined): boolean {
  return (
    entry !== undefined &&
    !pyEquals(entry.get('cmd') ?? null, Array.isArray(stage.cmd) ? [...stage.cmd] : stage.cmd)
  );
}

/** An output exists unless it is missing or ignored by .dvcignore. */
export function outExists(ws: Workspace, abs: string): boolean {
  const st = statSync(abs, { throwIfNoEntry: false });
  return st !== undefined && !ws.ignore.isPathIgnored(abs, st.isDirectory());
}

/** A dep's status: deleted, modified, or undefined when unchanged. */
export async function depStatus(ws: Workspace, item: BoundItem): Promise<string | undefined> {
  if (!existsSync(item.abs)) return 'deleted';
  const { md5 } = await ws.hasher.hash(item.abs, { name: item.hashName });
  if (md5 !== item.locked?.md5) return 'modified';
  return undefined;
}

/** True when the lock's object for an output is in the cache and sound. */
export function outCached(ws: Workspace, item: BoundItem): boolean {
  return item.locked?.md5 !== undefined && ws.store(item.hashName).has(item.locked.md5);
}

/** An out's status: not in cache, deleted, modified, or undefined when unchanged. */
export async function outStatus(ws: Workspace, item: BoundOut): Promise<string | undefined> {
  if (item.locked?.md5 && item.spec.cache && !outCached(ws, item)) return 'not in cache';
  if (!outExists(ws, item.abs)) return 'deleted';
  const { md5 } = await ws.hasher.hash(item.abs, { name: item.hashName });
  if (md5 !== item.locked?.md5) return 'modified';
  return undefined;
}

/** The current values of one params file's tracked keys (all top-level keys when whole). */
export function readParams(
  ws: Workspace,
  stage: Stage,
  spec: ParamsSpec,
): { values: PyDict; missing: string[] } | undefined {
  const tree = readParamsFile(workspaceFs(ws.root), rootRelative(stage, spec.file));
  if (!tree) return undefined;
  if (spec.keys.length === 0) return { values: tree, missing: [] };
  const values = new PyDict();
  const missing: string[] = [];
  for (const key of spec.keys) {
    const v = getDotted(tree, key);
    if (v === undefined) missing.push(key);
    else values.set(key, v);
  }
  return { values, missing };
}

/** The status of one params file: `deleted`, `new`, or the changed keys. */
export function paramsStatus(
  ws: Workspace,
  stage: Stage,
  spec: ParamsSpec,
  entry: PyDict | undefined,
): string | Record<string, string> | undefined {
  const current = readParams(ws, stage, spec);
  if (!current) return 'deleted';
  const locked = lockParams(entry).get(spec.file);
  if (locked === undefined || locked === null) return 'new';
  const info = isDict(locked) ? locked : new PyDict();
  const actual = current.values;
  const keys: PyKey[] = spec.keys.length ? spec.keys : [];
  if (!spec.keys.length) {
    for (const k of [...actual.keys(), ...info.keys()]) if (!keys.some((x) => x === k)) keys.push(k);
  }
  const changes: Record<string, string> = {};
  for (const key of keys) {
    const now = dictGet(actual, key);
    const before = dictGet(info, key);
    if (now === undefined) changes[String(key)] = 'deleted';
    else if (before === undefined) changes[String(key)] = 'new';
    else if (!pyEquals(now, before)) changes[String(key)] = 'modified';
  }
  return Object.keys(changes).length ? changes : undefined;
}

/**
 * Why `stage` must run, as DVC decides it for repro (first reason only), or undefined.
 */
export async function stageChangeReason(
  ws: Workspace,
  stage: Stage,
  entry: PyDict | undefined,
): Promise<string | undefined> {
  if (cmdChanged(stage, entry)) return 'changed command';
  if (!stage.frozen) {
    if (alwaysChanged(stage)) return 'always changed';
    for (const dep of boundDeps(ws, stage, entry)) {
      const st = await depStatus(ws, dep);
      if (st) return `${st} dep ${dep.path}`;
    }
    for (const spec of stage.params) {
      const st = paramsStatus(ws, stage, spec, entry);
      if (st) return typeof st === 'string' ? `${st} params ${spec.file}` : `modified params ${spec.file}`;
    }
  }
  for (const out of boundOuts(ws, stage, entry)) {
    const st = await outStatus(ws, out);
    if (st) return `${st} out ${out.path}`;
  }
  return undefined;
}

/** DVC's `Stage.status`: every reason, in DVC's order (deps, outs, always changed, command). */
export async function stageStatus(
  ws: Workspace,
  stage: Stage,
  entry: PyDict | undefined,
): Promise<StatusEntry[]> {
  const ret: StatusEntry[] = [];
  if (!stage.frozen) {
    const deps: ChangedMap = {};
    for (const dep of boundDeps(ws, stage, entry)) {
      const st = await depStatus(ws, dep);
      if (st) deps[ws.display(dep.abs)] = st;
    }
    for (const spec of stage.params) {
      const st = paramsStatus(ws, stage, spec, entry);
      if (st) deps[ws.display(ws.abs(stage, spec.file))] = st;
    }
    if (Object.keys(deps).length) ret.push({ 'changed deps': deps });
  }
  const outs: ChangedMap = {};
  for (const out of boundOuts(ws, stage, entry)) {
    const st = await outStatus(ws, out);
    if (st) outs[ws.display(out.abs)] = st;
  }
  if (Object.keys(outs).length) ret.push({ 'changed outs': outs });
  if (alwaysChanged(stage)) ret.push('always changed');
  if (cmdChanged(stage, entry)) ret.push('changed command');
  return ret;
}

/** `keel status`: the changed stages (in dvc.yaml order) with every reason. */
export async function pipelineStatus(ws: Workspace, stages: Stage[]): Promise<Record<string, StatusEntry[]>> {
  const lock = readLock(ws.lockPath);
  const out: Record<string, StatusEntry[]> = {};
  for (const stage of stages) {
    const entries = await stageStatus(ws, stage, lockStage(lock, stage.name));
    if (entries.length) out[stage.name] = entries;
  }
  ws.state.flush();
  return out;
}

/** A missing params file or key, as DVC reports it. */
export function missingParamsError(
  ws: Workspace,
  stage: Stage,
  spec: ParamsSpec,
  missing: string[] | undefined,
): KeelError {
  const file = ws.display(ws.abs(stage, spec.file));
  return new KeelError(
    'FAILED_PRECONDITION',
    missing === undefined
      ? `Parameters file '${file}' does not exist`
      : `Parameters '${missing.join(', ')}' are missing from '${file}'.`,
  );
}
