/**
 * @module cli/tracked
 * Commands that do tracked work (train, evaluate, repro) log to the embedded store by default, or
 * to `KEEL_TRACKING_URI` when it is set; `--no-track` turns that off. `keel train` and `keel
 * evaluate` log into an existing run with `--run-id`, or the one `KEEL_RUN_ID` names (a repro
 * sets it for its stages), so one run holds a model build's training, evaluation and lineage.
 */
import type { Command } from 'commander';
import type { KeelConfig } from '../core/index.js';
import type { ActiveRun, TrackingClient } from '../tracking/index.js';

export interface TrackOptions {
  track: boolean;
  experiment?: string;
  /** An existing run to log into instead of a new one. */
  runId?: string;
}

/** Adds `--experiment NAME` and `--no-track` to a command. */
export const trackOptions = (cmd: Command, defaultExperiment: string): Command =>
  cmd
    .option('--experiment <name>', 'tracking experiment to record the run in', defaultExperiment)
    .option('--no-track', 'do not record a tracking run');

/** Adds `--run-id ID` (default `$KEEL_RUN_ID`) to a tracked command. */
export const runIdOption = (cmd: Command): Command =>
  cmd.option(
    '--run-id <id>',
    'log into this existing run instead of a new one (default: $KEEL_RUN_ID, which keel repro sets for its stages)',
  );

/** Runs `fn` with a tracking client (or none when `--no-track`), closing it afterwards. */
export async function withTrackingClient<T>(
  config: KeelConfig,
  opts: TrackOptions,
  fn: (client: TrackingClient | undefined) => Promise<T>,
): Promise<T> {
  if (!opts.track) return fn(undefined);
  const { openTrackingClient } = await import('../tracking/index.js');
  const client = await openTrackingClient(config);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/**
 * Runs `fn` inside one tracking run, ended FINISHED, or FAILED when `fn` throws. With a run id
 * (`--run-id`, else `KEEL_RUN_ID`) it logs into that run and leaves its status to its owner.
 */
export function withTrackedRun<T>(
  config: KeelConfig,
  opts: TrackOptions & { runName?: string },
  fn: (run: ActiveRun | undefined, attached: boolean) => Promise<T>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  return withTrackingClient(config, opts, async (client) => {
    if (!client) return fn(undefined, false);
    const runId = opts.runId ?? (env.KEEL_RUN_ID || undefined);
    if (runId) {
      const attached = await client.attachRun(runId);
      const result = await fn(attached, true);
      await attached.flush();
      return result;
    }
    const run = await client.startRun({ experiment: opts.experiment, runName: opts.runName });
    try {
      const result = await fn(run, false);
      await run.end('FINISHED');
      return result;
    } catch (err) {
      await run.end('FAILED').catch(() => {});
      throw err;
    }
  });
}
