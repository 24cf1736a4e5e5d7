/**
 * @module tracking/open-client
 * The tracking client: in-process on the embedded store by default, over HTTP when
 * `KEEL_TRACKING_URI` (or `MLFLOW_TRACKING_URI`) is an http(s) URL.
 */
import { type KeelConfig, KeelError } from '../core/index.js';
import { BufferedRun } from './active-run.js';
import type { ActiveRun, StartRunOptions, TrackingClient } from './client.js';
import { environmentTags } from './environment.js';
import { type RetryOptions, retryOptionsFromEnv } from './http-retry.js';
import { HttpTransport } from './http-transport.js';
import { LocalTransport } from './local-transport.js';
import { RUN_NAME_TAG } from './runs.js';
import { Tracking } from './tracking.js';
import type { TrackingTransport } from './transport.js';

export class Client implements TrackingClient {
  constructor(
    private readonly transport: TrackingTransport,
    private readonly cwd = process.cwd(),
  ) {}

  async startRun(options: StartRunOptions = {}): Promise<ActiveRun> {
    const experimentId = await this.transport.ensureExperiment(options.experiment ?? 'Default');
    const tags = {
      ...(options.captureEnvironment === false ? {} : environmentTags(this.cwd)),
      ...options.tags,
    };
    if (options.runName) tags[RUN_NAME_TAG] = options.runName;
    const startTime = Date.now();
    const runId = await this.transport.createRun({
      experimentId,
      runName: options.runName,
      startTime,
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    });
    return new BufferedRun(this.transport, runId, experimentId);
  }

  async attachRun(runId: string): Promise<ActiveRun> {
    const run = await this.transport.getRun(runId);
    if (run.lifecycleStage !== 'active') {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `Run ${runId} is deleted; restore it or log to another run`,
      );
    }
    return new BufferedRun(this.transport, runId, run.experimentId);
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

/** A client over an already-open Tracking facade (the caller keeps ownership of it). */
export const localTrackingClient = (tracking: Tracking, cwd?: string): TrackingClient =>
  new Client(new LocalTransport(tracking), cwd);

/** A client speaking MLflow's REST API to `baseUrl`, retrying as MLflow's client does (`retry` overrides). */
export const httpTrackingClient = (
  baseUrl: string,
  token?: string,
  retry?: Partial<RetryOptions>,
): TrackingClient => new Client(new HttpTransport(baseUrl, token, retry));

/** Chooses the transport from the environment, as the CLI and training code do. */
export async function openTrackingClient(
  config: KeelConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<TrackingClient> {
  const uri = env.KEEL_TRACKING_URI || env.MLFLOW_TRACKING_URI;
  if (uri && /^https?:\/\//.test(uri))
    return httpTrackingClient(uri, env.KEEL_TOKEN, retryOptionsFromEnv(env));
  return new Client(new LocalTransport(await Tracking.open(config), true), config.root);
}
