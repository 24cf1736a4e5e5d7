/**
 * @module tracking/local-transport
 * The in-process transport: calls the Tracking facade on the embedded store directly.
 */
import type { RunStatus } from './client.js';
import type { Tracking } from './tracking.js';
import type { NewRun, TrackingTransport } from './transport.js';
import type { DatasetInputEntity, LogBatch } from './types.js';

export class LocalTransport implements TrackingTransport {
  constructor(
    private readonly tracking: Tracking,
    private readonly ownsTracking = false,
  ) {}

  ensureExperiment(name: string): Promise<string> {
    return this.tracking.ensureExperiment(name);
  }
  async createRun(options: NewRun): Promise<string> {
    return (await this.tracking.runs.create(options)).info.run_id;
  }
  async getRun(runId: string): Promise<{ experimentId: string; lifecycleStage: string }> {
    const { info } = await this.tracking.runs.get(runId);
    return { experimentId: info.experiment_id, lifecycleStage: info.lifecycle_stage };
  }
  logBatch(runId: string, batch: LogBatch): Promise<void> {
    return this.tracking.runs.logBatch(runId, batch);
  }
  logInputs(runId: string, inputs: DatasetInputEntity[]): Promise<void> {
    return this.tracking.runs.logInputs(runId, inputs);
  }
  logArtifact(runId: string, localPath: string, artifactPath?: string): Promise<void> {
    return this.tracking.logArtifact(runId, localPath, artifactPath);
  }
  async endRun(runId: string, status: RunStatus, endTime: number): Promise<void> {
    await this.tracking.runs.update(runId, { status, endTime });
  }
  async close(): Promise<void> {
    if (this.ownsTracking) await this.tracking.close();
  }
}
