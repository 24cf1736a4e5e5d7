/**
 * @module pipeline/stage-run
 * Reproducing one stage: decide by DVC's rules, restore from the run cache when the same cmd,
 * deps and params ran before, otherwise remove non-persistent outputs, run the cmd, hash and cache
 * the outputs, and hand the new lock entry to `commit`.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KeelError } from '../core/index.js';
import { restoreOutput } from './checkout.js';
import { runCommands } from './executor.js';
import { type LockOut, type LockStage, lockOut, lockStage } from './lock.js';
import { runCacheApplies } from './run-cache.js';
import type { Stage } from './schema.js';
import { type Change, currentParams, hashDeps, stageChanges } from './status.js';
import type { Workspace } from './workspace.js';

export type StageOutcome = 'unchanged' | 'ran' | 'restored' | 'would-run' | 'failed' | 'skipped';

/** What happened to one stage in a repro. */
export interface StageResult {
  stage: string;
  status: StageOutcome;
  /** Why it ran (empty when unchanged). */
  changes: Change[];
  /** The tail of the cmd's output, for a stage that ran. */
  output?: string;
  exitCode?: number;
  /** What went wrong, for a failed or skipped stage. */
  error?: string;
}

export interface StageRunOptions {
  force?: boolean;
  dry?: boolean;
  /** A dry run counts a stage as changed when a stage upstream would run. */
  upstreamWouldRun?: boolean;
  onOutput?: (stage: string, chunk: string) => void;
  /** Stops the running cmd (SIGTERM to its process group). */
  signal?: AbortSignal;
  /** Receives the new lock entry once the outputs are cached. */
  commit: (stage: string, entry: LockStage) => void;
  /** Extra environment for a cmd, asked for just before it runs (the repro's run id, PATH). */
  stageEnv?: () => Promise<Record<string, string>>;
}

async function decide(ws: Workspace, stage: Stage, locked: LockStage | undefined, o: StageRunOptions) {
  if (o.force) return [{ kind: 'cmd', status: 'forced' }] satisfies Change[];
  const changes = await stageChanges(ws, stage, locked);
  if (changes.length === 0 && o.dry && o.upstreamWouldRun)
    return [{ kind: 'deps', status: 'upstream' }] satisfies Change[];
  return changes;
}

async function saveOutputs(ws: Workspace, stage: Stage, forRunCache: boolean): Promise<LockOut[]> {
  const outs: LockOut[] = [];
  for (const out of stage.outs) {
    const abs = ws.abs(stage, out.path);
    if (!existsSync(abs)) {
      throw new KeelError(
        'EXECUTION_FAILED',
        `Stage '${stage.name}': its cmd did not create output '${out.path}'`,
      );
    }
    const info = await ws.hasher.hash(abs, { entries: true });
    // Uncached outs are stored too when the run cache applies, as DVC does, so it can restore them.
    if (out.cache || forRunCache) ws.objects.save(abs, info);
    outs.push(lockOut(out.path, info));
  }
  return outs;
}

/**
 * Reproduces one stage if it changed.
 * @throws KeelError FAILED_PRECONDITION for a missing dependency or param; EXECUTION_FAILED when
 * the cmd does not create an output.
 */
export async function reproduceStage(
  ws: Workspace,
  stage: Stage,
  locked: LockStage | undefined,
  o: StageRunOptions,
): Promise<StageResult> {
  const changes = await decide(ws, stage, locked, o);
  if (changes.length === 0) return { stage: stage.name, status: 'unchanged', changes };
  if (o.dry) return { stage: stage.name, status: 'would-run', changes };
  const { values, missing } = currentParams(ws, stage);
  if (missing.length) {
    throw new KeelError(
      'FAILED_PRECONDITION',
      `Stage '${stage.name}': params missing: ${missing.join(', ')}`,
    );
  }
  const deps = await hashDeps(ws, stage);
  const useRunCache = runCacheApplies(stage);
  if (useRunCache && !o.force) {
    const hit = ws.runCache.find(
      lockStage(
        stage.cmd,
        deps,
        values,
        stage.outs.map((out) => ({ path: out.path })),
      ),
    );
    if (hit) {
      for (const out of hit.outs ?? []) restoreOutput(ws, out.md5!, ws.abs(stage, out.path));
      o.commit(stage.name, lockStage(stage.cmd, deps, values, hit.outs ?? []));
      return { stage: stage.name, status: 'restored', changes };
    }
  }
  for (const out of stage.outs) {
    const abs = ws.abs(stage, out.path);
    if (!out.persist) rmSync(abs, { recursive: true, force: true });
    mkdirSync(dirname(abs), { recursive: true });
  }
  const env = { ...process.env, ...(await o.stageEnv?.()), KEEL_ROOT: ws.root, KEEL_STAGE: stage.name };
  const run = await runCommands(stage.cmd, {
    cwd: join(ws.root, stage.wdir),
    env,
    onOutput: (c) => o.onOutput?.(stage.name, c),
    signal: o.signal,
  });
  if (run.code !== 0) {
    return {
      stage: stage.name,
      status: 'failed',
      changes,
      output: run.output,
      exitCode: run.code,
      error: `Stage '${stage.name}': '${run.failed}' exited with code ${run.code}`,
    };
  }
  const entry = lockStage(stage.cmd, deps, values, await saveOutputs(ws, stage, useRunCache));
  o.commit(stage.name, entry);
  if (useRunCache) ws.runCache.save(entry);
  return { stage: stage.name, status: 'ran', changes, output: run.output, exitCode: 0 };
}
