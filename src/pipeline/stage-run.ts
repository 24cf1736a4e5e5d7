/**
 * @module pipeline/stage-run
 * Reproducing one stage as DVC's `Stage.reproduce` does: skip it when unchanged; a frozen stage
 * only has its outputs verified ("missing data 'source'" when one is gone); otherwise remove the
 * non-persistent outputs, get them back from the run cache when the same cmd, deps and params ran
 * before (or the lock's own outputs are all in the cache), else run the cmd; then hash deps and
 * outputs, cache the outputs, keep them out of git, record the run (never for always-changed
 * stages, persistent outputs, or stages with a plain `cache: false` output) and hand the new lock
 * entry to `commit`.
 */
import { closeSync, mkdirSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KeelError } from '../core/index.js';
import { relinkModes, restoreOutput } from './checkout.js';
import { runCommands } from './executor.js';
import type { GitIgnorer } from './gitignore.js';
import { type HashInfo, isTextBlock } from './hash.js';
import { buildLockEntry, type LockedItem, lockItems } from './lock.js';
import type { PyDict } from './pyvalue.js';
import { runCacheKey } from './run-cache.js';
import type { Stage } from './schema.js';
import {
  alwaysChanged,
  type BoundItem,
  boundDeps,
  boundOuts,
  cmdChanged,
  depStatus,
  missingParamsError,
  outExists,
  paramsStatus,
  readParams,
  stageChangeReason,
} from './status.js';
import type { Workspace } from './workspace.js';

export type StageOutcome = 'unchanged' | 'ran' | 'restored' | 'verified' | 'would-run' | 'failed' | 'skipped';

/** What happened to one stage in a repro. */
export interface StageResult {
  stage: string;
  status: StageOutcome;
  /** Why it ran (absent when unchanged or forced). */
  reason?: string;
  /** True when its lock entry was written. */
  lockUpdated?: boolean;
  /** The tail of the cmd's output, for a stage that ran. */
  output?: string;
  exitCode?: number;
  /** What went wrong, for a failed or skipped stage. */
  error?: string;
}

export interface StageRunOptions {
  force?: boolean;
  dry?: boolean;
  /** Human progress lines ("Running stage 'x':", "> cmd", ...). */
  note?: (line: string) => void;
  onOutput?: (stage: string, chunk: string, stream: 'stdout' | 'stderr') => void;
  /** Stops the running cmd (SIGTERM to its process group). */
  signal?: AbortSignal;
  gitignore?: GitIgnorer;
  /** Extra environment for a cmd, asked for just before it runs (the repro's run id, PATH). */
  stageEnv?: () => Promise<Record<string, string>>;
  /** Writes the new lock entry; returns whether the lock changed. */
  commit: (stage: string, entry: PyDict) => boolean;
}

/** DVC's `_can_hash` without the dependency hashing: may this stage use the run cache? */
function runCacheEligible(stage: Stage): boolean {
  return (
    !alwaysChanged(stage) &&
    stage.deps.length + stage.params.length > 0 &&
    stage.outs.length > 0 &&
    stage.outs.every((o) => !o.persist)
  );
}

interface SavedDeps {
  deps: LockedItem[];
  params: Map<string, PyDict>;
}

/** Hashes deps (rehashing a changed DVC 2 entry as DVC 3) and reads params, as `save_deps` does. */
async function saveDeps(ws: Workspace, stage: Stage, entry: PyDict | undefined): Promise<SavedDeps> {
  const deps: LockedItem[] = [];
  for (const dep of boundDeps(ws, stage, entry)) {
    if (!statSync(dep.abs, { throwIfNoEntry: false })) {
      throw new KeelError('FAILED_PRECONDITION', `dependency '${ws.display(dep.abs)}' does not exist`);
    }
    deps.push(await hashItem(ws, dep, false));
  }
  const params = new Map<string, PyDict>();
  for (const spec of stage.params) {
    const current = readParams(ws, stage, spec);
    if (!current || current.missing.length) throw missingParamsError(ws, stage, spec, current?.missing);
    params.set(spec.file, current.values);
  }
  return { deps, params };
}

/** A dep or out hashed under its lock entry's hash name (DVC 2's, while unchanged). */
async function hashItem(
  ws: Workspace,
  item: BoundItem,
  entries: boolean,
): Promise<LockedItem & { info: HashInfo }> {
  let name = item.hashName;
  let info = await ws.hasher.hash(item.abs, { name, entries });
  if (name === 'md5-dos2unix' && info.md5 !== item.locked?.md5) {
    name = 'md5';
    info = await ws.hasher.hash(item.abs, { name, entries });
  }
  return {
    path: item.path,
    hashName: name,
    md5: info.md5,
    size: info.size,
    ...(info.nfiles !== undefined ? { nfiles: info.nfiles } : {}),
    ...(info.isexec ? { isexec: true } : {}),
    info,
  };
}

function isTextFile(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(512);
    return isTextBlock(buf.subarray(0, readSync(fd, buf, 0, 512, 0)));
  } finally {
    closeSync(fd);
  }
}

/** Hashes and caches the outputs, keeps them out of git, and sets their modes as a checkout would. */
async function saveOuts(
  ws: Workspace,
  stage: Stage,
  entry: PyDict | undefined,
  o: StageRunOptions,
): Promise<LockedItem[]> {
  const outs: LockedItem[] = [];
  for (const out of boundOuts(ws, stage, entry)) {
    if (!outExists(ws, out.abs)) {
      throw new KeelError('EXECUTION_FAILED', `output '${ws.display(out.abs)}' does not exist`);
    }
    const isDir = statSync(out.abs).isDirectory();
    if (out.spec.kind === 'metrics' && !isDir && !isTextFile(out.abs)) {
      throw new KeelError('INVALID_PARAMETER_VALUE', `binary file '${out.abs}' cannot be used as metrics.`);
    }
    if (out.spec.cache) o.gitignore?.ignore(out.abs, isDir);
    const item = await hashItem(ws, out, out.spec.cache && isDir);
    if (out.spec.cache) {
      ws.store(item.hashName).save(out.abs, item.info);
      relinkModes(out.abs, item.info.entries, item.isexec === true);
    }
    const { info: _info, ...locked } = item;
    outs.push(locked);
  }
  return outs;
}

/**
 * Gets a stage's outputs back without running it (DVC's `stage_cache.restore`): from the lock
 * entry when nothing but outputs changed, else from the run cache's newest entry for the same
 * cmd, deps and params. Returns false when there is none or an object is missing or corrupted.
 */
async function restoreFromRunCache(ws: Workspace, stage: Stage, entry: PyDict | undefined): Promise<boolean> {
  if (!runCacheEligible(stage)) return false;
  const saved = await saveDeps(ws, stage, entry);
  let candidate: PyDict | undefined;
  const outs = boundOuts(ws, stage, entry);
  let unchanged = !cmdChanged(stage, entry) && entry !== undefined && outs.every((out) => out.locked?.md5);
  for (const dep of boundDeps(ws, stage, entry))
    if (unchanged && (await depStatus(ws, dep))) unchanged = false;
  for (const spec of stage.params) if (unchanged && paramsStatus(ws, stage, spec, entry)) unchanged = false;
  if (unchanged) candidate = entry;
  else {
    const probe = buildLockEntry(
      stage.cmd,
      saved.deps,
      saved.params,
      stage.outs.map((out) => ({ path: out.path, hashName: 'md5' })),
    );
    candidate = ws.runCache.newest(runCacheKey(probe));
  }
  if (!candidate) return false;
  const items = lockItems(candidate, 'outs');
  if (!items.every((i) => i.md5 && ws.store(i.hashName).has(i.md5))) return false;
  for (const i of items)
    restoreOutput(ws, ws.store(i.hashName), i.md5!, ws.abs(stage, i.path), i.isexec === true);
  return true;
}

/**
 * Records a completed stage in the run cache (as DVC's `stage_cache.save`), committing its
 * uncached outputs to the object cache so a restore can bring them back too.
 */
async function saveRunCache(ws: Workspace, stage: Stage, entry: PyDict): Promise<void> {
  if (!runCacheEligible(stage) || stage.outs.some((o) => !o.cache && o.kind === 'outs')) return;
  const existing = ws.runCache.existing(entry);
  for (const out of lockItems(existing ?? entry, 'outs')) {
    const spec = stage.outs.find((x) => x.path === out.path);
    if (!spec || spec.cache || !out.md5) continue;
    const abs = ws.abs(stage, out.path);
    const info = await ws.hasher.hash(abs, { name: out.hashName, entries: out.md5.endsWith('.dir') });
    if (info.md5 === out.md5) ws.store(out.hashName).save(abs, info);
  }
  if (!existing) ws.runCache.save(entry);
}

/**
 * Reproduces one stage if it changed.
 * @throws KeelError FAILED_PRECONDITION for missing data of a frozen stage, a missing dependency
 * or param; EXECUTION_FAILED when the cmd does not create an output.
 */
export async function reproduceStage(
  ws: Workspace,
  stage: Stage,
  entry: PyDict | undefined,
  o: StageRunOptions,
): Promise<StageResult> {
  const note = o.note ?? (() => {});
  const reason = o.force ? undefined : await stageChangeReason(ws, stage, entry);
  if (!o.force && reason === undefined) {
    note(`Stage '${stage.name}' didn't change, skipping`);
    return { stage: stage.name, status: 'unchanged' };
  }
  const base = { stage: stage.name, ...(reason ? { reason } : {}) };
  if (o.dry) return { ...base, status: 'would-run' };
  let status: StageOutcome;
  let run: Awaited<ReturnType<typeof runCommands>> | undefined;
  if (stage.frozen) {
    note(`Verifying outputs in frozen stage: '${stage.name}'`);
    const missing = stage.outs.map((out) => ws.abs(stage, out.path)).filter((abs) => !outExists(ws, abs));
    if (missing.length) {
      const source = missing.length > 1 ? 'sources' : 'source';
      throw new KeelError(
        'FAILED_PRECONDITION',
        `missing data '${source}': ${missing.map((m) => ws.display(m)).join(', ')}`,
      );
    }
    status = 'verified';
  } else {
    for (const out of stage.outs) {
      if (!out.persist) rmSync(ws.abs(stage, out.path), { recursive: true, force: true });
    }
    if (!o.force && (await restoreFromRunCache(ws, stage, entry))) {
      note(`Stage '${stage.name}' is cached - skipping run, checking out outputs`);
      status = 'restored';
    } else {
      await saveDeps(ws, stage, entry);
      for (const out of stage.outs) mkdirSync(dirname(ws.abs(stage, out.path)), { recursive: true });
      note(`Running stage '${stage.name}':`);
      const env = {
        ...process.env,
        ...(await o.stageEnv?.()),
        DVC_ROOT: process.env.DVC_ROOT ?? ws.root,
        DVC_STAGE: stage.name,
        KEEL_ROOT: ws.root,
        KEEL_STAGE: stage.name,
      };
      run = await runCommands(stage.cmd, {
        cwd: join(ws.root, stage.wdir),
        env,
        onCommand: (cmd) => note(`> ${cmd}`),
        onOutput: (chunk, stream) => o.onOutput?.(stage.name, chunk, stream),
        signal: o.signal,
      });
      if (run.code !== 0) {
        return {
          ...base,
          status: 'failed',
          output: run.output,
          exitCode: run.code,
          error: `failed to reproduce '${stage.name}': failed to run: ${run.failed}, exited with ${run.code}`,
        };
      }
      status = 'ran';
    }
  }
  const saved = await saveDeps(ws, stage, entry);
  const outs = await saveOuts(ws, stage, entry, o);
  const newEntry = buildLockEntry(stage.cmd, saved.deps, saved.params, outs);
  await saveRunCache(ws, stage, newEntry);
  const lockUpdated = o.commit(stage.name, newEntry);
  return { ...base, status, lockUpdated, ...(run ? { output: run.output, exitCode: 0 } : {}) };
}
