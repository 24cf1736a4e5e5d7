/**
 * @module pipeline/checkout
 * Bringing cached outputs back as dvc.lock records them (`keel checkout`, and the run cache's
 * restore), as DVC's checkout does: the workspace is compared with the lock first; a file that
 * would be replaced or removed (a modified output, a file added inside a directory output) whose
 * content is not in the cache is refused unless `force`, before anything changes; an object that
 * is missing or does not hash to its name fails its output (which is removed) and the command
 * fails. Restored files are entered in the stat cache, so they are not hashed again.
 */
import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KeelError } from '../core/index.js';
import { collectTargets, selectStages } from './dag.js';
import type { DirEntry } from './hash.js';
import { lockItems, lockStage, readLock } from './lock.js';
import type { ObjectStore } from './objects.js';
import { statKey } from './state.js';
import { outExists } from './status.js';
import type { Workspace } from './workspace.js';

/** The mode a copied file gets (the process umask applies), with the owner's exec bit for `isexec`. */
export function fileMode(isexec: boolean): number {
  // umask() without an argument only reads it.
  const mask = process.umask();
  return (0o666 & ~mask) | (isexec ? 0o100 : 0);
}

function restoreFile(ws: Workspace, store: ObjectStore, md5: string, dest: string, isexec: boolean): void {
  store.copyOut(md5, dest, fileMode(isexec));
  ws.state.set(statKey(statSync(dest)), md5, store.name);
}

/** True when an object and, for a directory, all its files are in the store and sound. */
function restorable(store: ObjectStore, md5: string): DirEntry[] | boolean {
  if (!md5.endsWith('.dir')) return store.verify(md5);
  if (!store.verify(md5)) return false;
  const manifest = store.readManifest(md5);
  return manifest?.every((e) => store.verify(e.md5)) ? manifest : false;
}

/**
 * Writes a whole output from the cache to `dest` (replacing what is there).
 * @throws KeelError RESOURCE_DOES_NOT_EXIST when an object is missing or corrupted.
 */
export function restoreOutput(
  ws: Workspace,
  store: ObjectStore,
  md5: string,
  dest: string,
  isexec = false,
): void {
  const ok = restorable(store, md5);
  if (!ok)
    throw new KeelError('RESOURCE_DOES_NOT_EXIST', `Cache object ${md5} for ${ws.display(dest)} is missing`);
  rmSync(dest, { recursive: true, force: true });
  if (ok === true) restoreFile(ws, store, md5, dest, isexec);
  else {
    for (const e of ok) restoreFile(ws, store, e.md5, join(dest, e.relpath), false);
    mkdirSync(dest, { recursive: true });
  }
  ws.state.flush();
}

/** What `keel checkout` changed, as DVC reports it (paths as shown, folders with a trailing `/`). */
export interface CheckoutResult {
  added: string[];
  modified: string[];
  deleted: string[];
  failed: string[];
}

export interface CheckoutOptions {
  /** Replace or remove files whose content is not in the cache. */
  force?: boolean;
  /** With targets: their upstream stages too. */
  withDeps?: boolean;
}

interface Planned {
  abs: string;
  md5: string;
  isexec: boolean;
  store: ObjectStore;
  existed: boolean;
  /** Files to remove or replace: absolute path and current md5. */
  remove: Array<{ abs: string; md5: string }>;
  /** Manifest entries to copy (directories), or the file itself. */
  copy: DirEntry[] | 'file';
}

async function plan(
  ws: Workspace,
  store: ObjectStore,
  abs: string,
  md5: string,
  isexec: boolean,
): Promise<Planned | undefined> {
  const existed = outExists(ws, abs);
  const st = existed ? statSync(abs) : undefined;
  const base = { abs, md5, isexec, store, existed, remove: [] as Planned['remove'] };
  const currentFiles = async (): Promise<Map<string, string>> => {
    if (!st) return new Map();
    if (!st.isDirectory()) return new Map([['', ws.hasher.fileHash(abs, st, store.name)]]);
    const { rels, stats } = ws.hasher.listFiles(abs);
    return new Map(rels.map((r, i) => [r, ws.hasher.fileHash(join(abs, r), stats[i], store.name)]));
  };
  if (!md5.endsWith('.dir')) {
    if (st?.isFile() && ws.hasher.fileHash(abs, st, store.name) === md5) return undefined;
    const files = await currentFiles();
    return {
      ...base,
      remove: [...files].map(([r, h]) => ({ abs: r ? join(abs, r) : abs, md5: h })),
      copy: 'file',
    };
  }
  const manifest = store.readManifest(md5);
  if (st && !st.isDirectory()) {
    return { ...base, remove: [{ abs, md5: ws.hasher.fileHash(abs, st, store.name) }], copy: manifest ?? [] };
  }
  const files = await currentFiles();
  const wanted = new Map((manifest ?? []).map((e) => [e.relpath, e.md5]));
  const remove = [...files]
    .filter(([r, h]) => wanted.get(r) !== h)
    .map(([r, h]) => ({ abs: join(abs, r), md5: h }));
  const copy = (manifest ?? []).filter((e) => files.get(e.relpath) !== e.md5);
  if (manifest && remove.length === 0 && copy.length === 0 && st) return undefined;
  return { ...base, remove, copy };
}

function apply(ws: Workspace, p: Planned): boolean {
  const ok = restorable(p.store, p.md5);
  if (!ok) {
    rmSync(p.abs, { recursive: true, force: true });
    return false;
  }
  if (ok === true) {
    restoreFile(ws, p.store, p.md5, p.abs, p.isexec);
    return true;
  }
  const st = statSync(p.abs, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) rmSync(p.abs, { force: true });
  for (const r of p.remove) rmSync(r.abs, { recursive: true, force: true });
  for (const e of p.copy === 'file' ? [] : p.copy)
    restoreFile(ws, p.store, e.md5, join(p.abs, e.relpath), false);
  mkdirSync(p.abs, { recursive: true });
  return true;
}

/**
 * Brings cached outputs back to what dvc.lock records (outputs with `cache: false` are left
 * alone, as DVC does).
 * @param targets stages (or outputs); default every stage.
 * @throws KeelError FAILED_PRECONDITION listing files that would be lost without `force`;
 * RESOURCE_DOES_NOT_EXIST listing outputs whose objects are missing or corrupted.
 */
export async function checkout(
  ws: Workspace,
  targets: string[] = [],
  options: CheckoutOptions = {},
): Promise<CheckoutResult> {
  const stages = targets.length
    ? options.withDeps
      ? selectStages(ws.project, ws.dag, targets)
      : collectTargets(ws.project, targets)
    : ws.project.stages;
  const lock = readLock(ws.lockPath);
  const planned: Planned[] = [];
  for (const stage of stages) {
    const locked = lockItems(lockStage(lock, stage.name), 'outs');
    for (const out of stage.outs) {
      const item = locked.find((l) => l.path === out.path);
      if (!out.cache || !item?.md5) continue;
      const p = await plan(
        ws,
        ws.store(item.hashName),
        ws.abs(stage, out.path),
        item.md5,
        item.isexec === true,
      );
      if (p) planned.push(p);
    }
  }
  if (!options.force) {
    const unsaved = planned
      .flatMap((p) => p.remove.filter((r) => !p.store.exists(r.md5)).map((r) => r.abs))
      .sort();
    if (unsaved.length) {
      throw new KeelError(
        'FAILED_PRECONDITION',
        `Can't remove the following unsaved files without confirmation. Use \`--force\` to force.\n${unsaved.join('\n')}`,
      );
    }
  }
  const result: CheckoutResult = { added: [], modified: [], deleted: [], failed: [] };
  for (const p of planned) {
    const shown = ws.display(p.abs) + (p.md5.endsWith('.dir') ? '/' : '');
    if (!apply(ws, p)) result.failed.push(ws.display(p.abs));
    else (p.existed ? result.modified : result.added).push(shown);
  }
  ws.state.flush();
  const order = (a: string, b: string) =>
    Number(!a.endsWith('/')) - Number(!b.endsWith('/')) || (a < b ? -1 : a > b ? 1 : 0);
  result.added.sort(order);
  result.modified.sort(order);
  if (result.failed.length) {
    throw new KeelError(
      'RESOURCE_DOES_NOT_EXIST',
      `Checkout failed for following targets:\n${result.failed.join('\n')}\nIs your cache up to date?\n<https://error.dvc.org/missing-files>`,
      { details: { ...result } },
    );
  }
  return result;
}

/** Sets an output's files to the mode a checkout gives them (DVC relinks outputs after saving). */
export function relinkModes(abs: string, entries: DirEntry[] | undefined, isexec: boolean): void {
  const set = (path: string, exec: boolean) => {
    const want = fileMode(exec);
    const st = statSync(path, { throwIfNoEntry: false });
    if (st && (st.mode & 0o777) !== want) chmodSync(path, want);
  };
  if (!entries) set(abs, isexec);
  else for (const e of entries) set(join(abs, e.relpath), e.isexec === true);
}
