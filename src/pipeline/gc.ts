/**
 * @module pipeline/gc
 * `keel gc` with DVC's scopes: it keeps the cached outputs (a `.dir` object and every file in it)
 * that dvc.yaml and dvc.lock use in the workspace, and with `allBranches`, `allTags`,
 * `allCommits` or `rev` (and `num` commits back from it) those used at those git commits, and
 * removes every other object of both cache layouts. The run cache's entries are never removed;
 * the objects only they use go too, as in DVC, unless `keepRunCache`.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { KeelError } from '../core/index.js';
import { loadProject } from './dvcfile.js';
import { lockItems, lockStage, parseLock } from './lock.js';
import type { ObjectStore } from './objects.js';
import { type ProjectFs, revisionFs, workspaceFs } from './project-fs.js';
import type { Workspace } from './workspace.js';

export interface GcOptions {
  /** Keep what the workspace uses (implied by every other scope). */
  workspace?: boolean;
  allBranches?: boolean;
  allTags?: boolean;
  allCommits?: boolean;
  /** Keep what this commit uses (and the `num - 1` commits before it). */
  rev?: string;
  num?: number;
  /** Keep the objects run-cache entries refer to. */
  keepRunCache?: boolean;
  /** Report what would go, remove nothing. */
  dry?: boolean;
}

export interface GcResult {
  /** The revisions whose outputs were kept (`workspace` first). */
  revisions: string[];
  removed: number;
  /** Bytes freed (or that would be). */
  bytes: number;
  kept: number;
  /** With `dry`: the objects that would be removed. */
  objects?: string[];
}

function git(root: string, args: string[]): string[] {
  try {
    return execFileSync('git', args, { cwd: root, stdio: 'pipe' }).toString().split('\n').filter(Boolean);
  } catch (err) {
    throw new KeelError('RESOURCE_DOES_NOT_EXIST', `git ${args.join(' ')} failed in ${root}`, { cause: err });
  }
}

function revisions(ws: Workspace, o: GcOptions): string[] {
  const revs = new Set<string>();
  if (o.allCommits) for (const c of git(ws.root, ['rev-list', '--all'])) revs.add(c);
  if (o.allBranches)
    for (const c of git(ws.root, ['for-each-ref', '--format=%(objectname)', 'refs/heads'])) revs.add(c);
  if (o.allTags)
    for (const c of git(ws.root, ['for-each-ref', '--format=%(objectname)^{commit}', 'refs/tags']))
      revs.add(c);
  if (o.rev) for (const c of git(ws.root, ['rev-list', '-n', String(o.num ?? 1), o.rev])) revs.add(c);
  return [...revs];
}

/** The objects a revision's (or the workspace's) pipeline uses. */
function usedAt(ws: Workspace, fs: ProjectFs, used: Map<ObjectStore, Set<string>>): void {
  if (fs.read(ws.project.file) === undefined) return;
  const project = loadProject(ws.root, { file: ws.project.file, fs });
  const lockText = fs.read(ws.project.file.replace(/\.yaml$/, '.lock'));
  if (lockText === undefined) return;
  const lock = parseLock(lockText, 'dvc.lock');
  for (const stage of project.stages) {
    const items = lockItems(lockStage(lock, stage.name), 'outs');
    for (const out of stage.outs) {
      const item = items.find((i) => i.path === out.path);
      if (out.cache && item?.md5) keep(ws.store(item.hashName), item.md5, used);
    }
  }
}

function keep(store: ObjectStore, md5: string, used: Map<ObjectStore, Set<string>>): void {
  const set = used.get(store) ?? new Set<string>();
  used.set(store, set);
  set.add(md5);
  if (md5.endsWith('.dir')) for (const e of store.readManifest(md5) ?? []) set.add(e.md5);
}

/**
 * Removes the objects no selected revision uses.
 * @throws KeelError INVALID_PARAMETER_VALUE without a scope, as DVC refuses; RESOURCE_DOES_NOT_EXIST
 * for an unknown revision or outside git when a git scope is asked for.
 */
export function gc(ws: Workspace, o: GcOptions): GcResult {
  if (!(o.workspace || o.allBranches || o.allTags || o.allCommits || o.rev)) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      'Either of `-w|--workspace`, `-a|--all-branches`, `-T|--all-tags` `--all-commits` or `--rev` needs to be set.',
    );
  }
  if (o.num !== undefined && !o.rev)
    throw new KeelError('INVALID_PARAMETER_VALUE', '`--num` can only be used alongside `--rev`');
  const used = new Map<ObjectStore, Set<string>>();
  usedAt(ws, workspaceFs(ws.root), used);
  const revs = revisions(ws, o);
  for (const rev of revs) usedAt(ws, revisionFs(ws.root, rev), used);
  if (o.keepRunCache) {
    for (const entry of ws.runCache.entries()) {
      for (const item of lockItems(entry, 'outs'))
        if (item.md5) keep(ws.store(item.hashName), item.md5, used);
    }
  }
  const result: GcResult = { revisions: ['workspace', ...revs], removed: 0, bytes: 0, kept: 0 };
  if (o.dry) result.objects = [];
  for (const store of [ws.objects, ws.legacyObjects]) {
    const keepSet = used.get(store) ?? new Set<string>();
    for (const oid of [...store.list()]) {
      if (keepSet.has(oid)) {
        result.kept++;
        continue;
      }
      const path = store.pathOf(oid);
      result.bytes += statSync(path).size;
      result.removed++;
      if (o.dry) result.objects!.push(oid);
      else rmSync(path, { force: true });
    }
  }
  return result;
}
