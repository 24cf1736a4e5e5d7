/**
 * @module cli/tracked
 * Commands that do tracked work (train, evaluate, repro) log to the embedded store by default, or
 * to `KEEL_TRACKING_URI` when it is set; `--no-track` turns that off.
 */
import type { Command } from 'commander';
import type { KeelConfig } from '../core/index.js';
import type { ActiveRun, TrackingClient } from '../tracking/index.js';

export interface TrackOptions {
  track: boolean;
  experiment?: string;
}

/** Adds `--experiment NAME` and `--no-track` to a command. */
export const trackOptions = (cmd: Command, defaultExperiment: string): Command =>
  cmd
    .option('--experiment <name>', 'tracking experiment to record the run in', defaultExperiment)
    .option('--no-track', 'do not record a tracking run');

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

/** Runs `fn` inside one tracking run, ended FINISHED, or FAILED when `fn` throws. */
export function withTrackedRun<T>(
  config: KeelConfig,
  opts: TrackOptions & { runName?: string },
  fn: (run: ActiveRun | undefined) => Promise<T>,
): Promise<T> {
  return withTrackingClient(config, opts, async (client) => {
    if (!client) return fn(undefined);
    const run = await client.startRun({ experiment: opts.experiment, runName: opts.runName });
    try {
      const result = await fn(run);
      await run.end('FINISHED');
      return result;
    } catch (err) {
      await run.end('FAILED').catch(() => {});
      throw err;
    }
  });
}
