/**
 * @module tracking/transport
 * What the tracking client needs from a backend: a handful of calls. The in-process transport calls the
 * Tracking facade; the HTTP transport speaks MLflow's REST API to `keel serve` or an MLflow server.
 */
import type { RunStatus } from './client.js';
import type { DatasetInputEntity, KeyValue, LogBatch } from './types.js';

/** What a transport needs to create a run. */
export interface NewRun {
  experimentId: string;
  runName?: string;
  tags: KeyValue[];
  /** ms since the epoch */
  startTime: number;
}

export interface TrackingTransport {
  ensureExperiment(name: string): Promise<string>;
  createRun(options: NewRun): Promise<string>;
  /** The run's experiment and lifecycle stage. @throws RESOURCE_DOES_NOT_EXIST for an unknown run. */
  getRun(runId: string): Promise<{ experimentId: string; lifecycleStage: string }>;
  logBatch(runId: string, batch: LogBatch): Promise<void>;
  logInputs(runId: string, inputs: DatasetInputEntity[]): Promise<void>;
  logArtifact(runId: string, localPath: string, artifactPath?: string): Promise<void>;
  endRun(runId: string, status: RunStatus, endTime: number): Promise<void>;
  close(): Promise<void>;
}
