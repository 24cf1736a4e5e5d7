/**
 * @module pipeline/repro
 * `keel repro`: the selected stages and their upstream in DVC's order, up to `jobs` independent
 * stages at a time. As DVC, the first failure stops the repro (running stages finish, no new one
 * starts) unless `keepGoing`, which skips only what depends on the failed stage. Each stage's lock
 * entry is written atomically as it finishes, so the lock keeps every stage that succeeded even
 * when a later one fails or the process is killed; stages new to the lock are placed in plan
 * order, whatever order parallel stages finish in.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { KeelError, type ProgressFn, toKeelError } from '../core/index.js';
import type { ActiveRun, TrackingClient } from '../tracking/index.js';
import { dfsPostorder, selectStages } from './dag.js';
import { GitIgnorer } from './gitignore.js';
import { type LockFile, lockStage, readLock, setLockEntry, writeLock } from './lock.js';
import type { PyDict } from './pyvalue.js';
import { recordRepro, startReproRun } from './record.js';
import { acquireReproLock } from './repro-lock.js';
import type { Stage } from './schema.js';
import { reproduceStage, type StageResult } from './stage-run.js';
import type { Workspace } from './workspace.js';

export interface ReproOptions {
  /** Stage names, foreach/matrix group names or output paths; default every stage. */
  targets?: string[];
  /** Run even unchanged stages, and skip the run cache. */
  force?: boolean;
  /** Decide only; run nothing, write nothing. */
  dry?: boolean;
  /** Independent stages run at once. Default 1. */
  jobs?: number;
  /** After a failure, go on with the stages that do not depend on it. */
  keepGoing?: boolean;
  /** Called as each stage finishes (unit: stages). */
  progress?: ProgressFn;
  /** Human progress lines ("Running stage 'x':", "> cmd", ...). */
  note?: (line: string) => void;
  /** Receives each stage's output as it is written. */
  onOutput?: (stage: string, chunk: string, stream: 'stdout' | 'stderr') => void;
  /** Aborting stops running stages (their lock entries stay as they were) and starts no more. */
  signal?: AbortSignal;
  /** When given, the repro is recorded as one run. */
  tracking?: TrackingClient;
  /** Experiment of that run; default `pipeline`. */
  experiment?: string;
  /** Extra environment for every stage's cmd (e.g. a PATH holding `keel`). */
  env?: Record<string, string>;
}

export interface ReproResult {
  stages: StageResult[];
  /** sha256 of dvc.lock after the repro (absent when there is none). */
  lockHash?: string;
  /** The .gitignore files outputs were added to (root-relative). */
  gitignores?: string[];
  /** The tracking run, when a client was given. */
  runId?: string;
}

function lockHash(path: string): string | undefined {
  return existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : undefined;
}

/** Writes stage entries as they finish, placing stages new to the lock in plan order. */
function lockWriter(ws: Workspace, lock: LockFile, plan: Stage[], note: (line: string) => void) {
  const position = new Map(plan.map((s, i) => [s.name, i]));
  const before = new Set([...lock.stages.keys()].map(String));
  let exists = existsSync(ws.lockPath);
  const name = basename(ws.lockPath);
  return (stage: string, entry: PyDict): boolean => {
    if (!setLockEntry(lock, stage, entry)) return false;
    if (!before.has(stage)) {
      const entries = [...lock.stages];
      const kept = entries.filter(([k]) => before.has(String(k)));
      const added = entries.filter(([k]) => !before.has(String(k)));
      added.sort(([a], [b]) => (position.get(String(a)) ?? 0) - (position.get(String(b)) ?? 0));
      lock.stages.clear();
      for (const [k, v] of [...kept, ...added]) lock.stages.set(k, v);
    }
    writeLock(ws.lockPath, lock);
    if (!exists) note(`Generating lock file '${name}'`);
    note(`Updating lock file '${name}'`);
    exists = true;
    return true;
  };
}

async function schedule(
  ws: Workspace,
  stages: Stage[],
  lock: LockFile,
  o: ReproOptions & { stageEnv?: () => Promise<Record<string, string>> },
): Promise<StageResult[]> {
  const results = new Map<string, StageResult>();
  const selected = new Set(stages.map((s) => s.name));
  const pending = [...stages];
  const running = new Map<string, Promise<void>>();
  const jobs = Math.max(1, o.jobs ?? 1);
  const note = o.note ?? (() => {});
  const gitignore = new GitIgnorer(ws.root);
  const commit = lockWriter(ws, lock, stages, note);
  let stopped = false;
  const start = (stage: Stage) => {
    if (stage.frozen)
      note(`WARNING: stage: '${stage.name}' is frozen. Its dependencies are not going to be reproduced.`);
    const task = reproduceStage(ws, stage, lockStage(lock, stage.name), {
      force: o.force,
      dry: o.dry,
      note,
      onOutput: o.onOutput,
      signal: o.signal,
      gitignore,
      commit,
      stageEnv: o.stageEnv,
    })
      .catch(
        (err: unknown): StageResult => ({
          stage: stage.name,
          status: 'failed',
          error: `failed to reproduce '${stage.name}': ${toKeelError(err).message}`,
        }),
      )
      .then((r) => {
        results.set(stage.name, r);
        running.delete(stage.name);
        if (r.status === 'failed' && !o.keepGoing) stopped = true;
        if (r.status !== 'unchanged' && r.status !== 'failed') note('');
        o.progress?.({
          label: 'repro',
          done: results.size,
          total: stages.length,
          unit: 'stages',
          info: `${r.stage} ${r.status}`,
        });
      });
    running.set(stage.name, task);
  };
  const downstreamOf = (name: string) =>
    new Set(dfsPostorder([name], (n) => ws.dag.downstream.get(n)!.filter((d) => selected.has(d))));
  while ((pending.length > 0 && !stopped && !o.signal?.aborted) || running.size > 0) {
    for (let i = 0; i < pending.length && running.size < jobs && !stopped && !o.signal?.aborted; ) {
      const stage = pending[i];
      const ups = stage.frozen
        ? []
        : ws.dag.upstream.get(stage.name)!.filter((u) => selected.has(u) && u !== stage.name);
      const failed = ups.find((u) => ['failed', 'skipped'].includes(results.get(u)?.status ?? ''));
      if (failed) {
        results.set(stage.name, {
          stage: stage.name,
          status: 'skipped',
          error: `upstream stage '${failed}' failed`,
        });
        pending.splice(i, 1);
      } else if (ups.every((u) => results.has(u))) {
        pending.splice(i, 1);
        start(stage);
      } else i++;
    }
    if (running.size > 0) await Promise.race(running.values());
  }
  for (const f of [...results.values()].filter((r) => r.status === 'failed')) {
    for (const d of downstreamOf(f.stage)) {
      if (!results.has(d))
        results.set(d, { stage: d, status: 'skipped', error: `upstream stage '${f.stage}' failed` });
    }
  }
  for (const s of stages) {
    if (!results.has(s.name))
      results.set(s.name, { stage: s.name, status: 'skipped', error: 'the repro stopped before it' });
  }
  return stages.map((s) => results.get(s.name)!);
}

/**
 * Reproduces the pipeline.
 * @throws KeelError EXECUTION_FAILED when a stage fails (details: `report` holds its output,
 * `stages` every stage's result); FAILED_PRECONDITION when another repro runs in the project.
 */
export async function repro(ws: Workspace, options: ReproOptions = {}): Promise<ReproResult> {
  const stages = selectStages(ws.project, ws.dag, options.targets);
  const release = options.dry ? () => {} : acquireReproLock(join(ws.home, 'tmp', 'repro.pid'));
  let results: StageResult[];
  let lock: LockFile;
  // The run starts when the first cmd is about to run, so a stage's `keel train` logs into it
  // (KEEL_RUN_ID); a repro that runs nothing starts none.
  const tracking = options.dry ? undefined : options.tracking;
  let run: Promise<ActiveRun> | undefined;
  const startRun = () => {
    run ??= startReproRun(tracking!, ws.project, options.experiment);
    return run;
  };
  const stageEnv = async () => ({
    ...options.env,
    ...(tracking ? { KEEL_RUN_ID: (await startRun()).runId } : {}),
  });
  try {
    lock = readLock(ws.lockPath);
    results = await schedule(ws, stages, lock, { ...options, stageEnv });
  } finally {
    ws.state.flush();
    release();
  }
  const result: ReproResult = { stages: results, lockHash: lockHash(ws.lockPath) };
  const failed = results.filter((r) => r.status === 'failed');
  const stagesRan = results.filter((r) => r.status === 'ran' || r.status === 'restored').map((r) => r.stage);
  // A repro that changed nothing made nothing new: it records no run.
  if (tracking && (stagesRan.length > 0 || failed.length)) {
    result.runId = await recordRepro(
      tracking,
      ws.project,
      { lock, lockHash: result.lockHash ?? '', stagesRan, failed: failed.length > 0 },
      { experiment: options.experiment, home: ws.home, started: await startRun() },
    );
  }
  if (failed.length) {
    const first = failed[0];
    const message =
      failed.length === 1
        ? (first.error ?? `failed to reproduce '${first.stage}'`)
        : `failed to reproduce stages: ${failed.map((f) => `'${f.stage}'`).join(', ')}`;
    throw new KeelError('EXECUTION_FAILED', message, {
      details: { report: first.output ?? '', stage: first.stage, exitCode: first.exitCode, stages: results },
    });
  }
  return result;
}
