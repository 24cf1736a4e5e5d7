/**
 * @module pipeline/repro
 * `keel repro`: the selected stages and their upstream in DAG order, up to `jobs` independent
 * stages at a time. A failed stage skips its dependants but not unrelated stages; each success
 * rewrites dvc.lock atomically at once, so the lock keeps every stage that succeeded even when a
 * later one fails or the process is killed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeelError, type ProgressFn } from '../core/index.js';
import type { ActiveRun, TrackingClient } from '../tracking/index.js';
import { selectStages } from './dag.js';
import { type LockFile, readLock, writeLock } from './lock.js';
import { recordRepro, startReproRun } from './record.js';
import { acquireReproLock } from './repro-lock.js';
import type { Stage } from './schema.js';
import { reproduceStage, type StageResult } from './stage-run.js';
import type { Workspace } from './workspace.js';

export interface ReproOptions {
  /** Stage names or foreach/matrix group names; default every stage. */
  targets?: string[];
  /** Run even unchanged stages, and skip the run cache. */
  force?: boolean;
  /** Decide only; run nothing, write nothing. */
  dry?: boolean;
  /** Independent stages run at once. Default 1. */
  jobs?: number;
  /** Called as each stage finishes (unit: stages). */
  progress?: ProgressFn;
  /** Receives each stage's output as it is written. */
  onOutput?: (stage: string, chunk: string) => void;
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
  /** The tracking run, when a client was given. */
  runId?: string;
}

function lockHash(path: string): string | undefined {
  return existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : undefined;
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
  const commit = (name: string, entry: LockFile['stages'][string]) => {
    lock.stages[name] = entry;
    writeLock(ws.lockPath, lock);
  };
  const start = (stage: Stage, upstreamWouldRun: boolean) => {
    const task = reproduceStage(ws, stage, lock.stages[stage.name], { ...o, upstreamWouldRun, commit })
      .catch(
        (err: unknown): StageResult => ({
          stage: stage.name,
          status: 'failed',
          changes: [],
          error: (err as Error).message,
        }),
      )
      .then((r) => {
        results.set(stage.name, r);
        running.delete(stage.name);
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
  while (pending.length > 0 || running.size > 0) {
    for (let i = 0; i < pending.length && running.size < jobs; ) {
      const stage = pending[i];
      const ups = ws.dag.upstream.get(stage.name)!.filter((u) => selected.has(u));
      const blocked = ups.find((u) => ['failed', 'skipped'].includes(results.get(u)?.status ?? ''));
      if (blocked) {
        results.set(stage.name, {
          stage: stage.name,
          status: 'skipped',
          changes: [],
          error: `upstream stage '${blocked}' failed`,
        });
        pending.splice(i, 1);
      } else if (ups.every((u) => results.has(u))) {
        pending.splice(i, 1);
        start(
          stage,
          ups.some((u) => results.get(u)!.status === 'would-run'),
        );
      } else i++;
    }
    if (running.size > 0) await Promise.race(running.values());
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
  const failed = results.find((r) => r.status === 'failed');
  const stagesRan = results.filter((r) => r.status === 'ran' || r.status === 'restored').map((r) => r.stage);
  // A repro that changed nothing made nothing new: it records no run.
  if (tracking && (stagesRan.length > 0 || failed)) {
    result.runId = await recordRepro(
      tracking,
      ws.project,
      {
        lock,
        lockHash: result.lockHash ?? '',
        stagesRan,
        failed: failed !== undefined,
      },
      options.experiment,
      await startRun(),
    );
  }
  if (failed) {
    throw new KeelError('EXECUTION_FAILED', failed.error ?? `Stage '${failed.stage}' failed`, {
      details: {
        report: failed.output ?? '',
        stage: failed.stage,
        exitCode: failed.exitCode,
        stages: results,
      },
    });
  }
  return result;
}
