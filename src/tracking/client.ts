/**
 * @module tracking/client
 * The tracking client interface that training code, pipelines and the CLI log through. Two
 * transports implement it: in-process (the embedded store) and HTTP (a `keel serve` or an MLflow
 * server at `KEEL_TRACKING_URI`). Logging is buffered and sent in batches, so a training loop that
 * logs every step does not make one request per metric.
 *
 * @example
 * const run = await tracking.startRun({ experiment: 'churn' });
 * await run.logParams({ learning_rate: 0.1 });
 * for (let step = 0; step < 100; step++) await run.logMetrics({ loss }, { step });
 * await run.logArtifact('model.onnx');
 * await run.end();
 */

export type ParamValue = string | number | boolean;

export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

/** A dataset a run read: name, content digest, where it came from, and its schema. */
export interface DatasetInput {
  name: string;
  digest: string;
  sourceType: string;
  source: string;
  /** JSON text describing the columns, as MLflow stores it. */
  schema?: string;
  profile?: string;
  /** Dataset tags, e.g. `{ 'mlflow.data.context': 'training' }`. */
  tags?: Record<string, string>;
}

export interface StartRunOptions {
  /** Experiment name; created when missing. Default `Default`. */
  experiment?: string;
  runName?: string;
  tags?: Record<string, string>;
  /** Record the environment (git commit, Node version, lockfile hash) as tags. Default true. */
  captureEnvironment?: boolean;
}

export interface ActiveRun {
  readonly runId: string;
  readonly experimentId: string;
  logParams(params: Record<string, ParamValue>): Promise<void>;
  /** Appends one point per key; `step` defaults to 0, `timestamp` to now (ms). */
  logMetrics(metrics: Record<string, number>, options?: { step?: number; timestamp?: number }): Promise<void>;
  setTags(tags: Record<string, string>): Promise<void>;
  logInputs(datasets: DatasetInput[]): Promise<void>;
  /** Uploads a local file (or a folder, recursively) under `artifactPath` (default: the root). */
  logArtifact(localPath: string, artifactPath?: string): Promise<void>;
  /**
   * Sends everything buffered so far, after any batch kept from a failed send.
   * @throws the first error met; a batch the server could not take stays queued for the next flush.
   */
  flush(): Promise<void>;
  /**
   * Flushes and ends the run on the server (default status FINISHED). The run is ended even when
   * the flush fails; the flush's error is thrown after.
   */
  end(status?: Exclude<RunStatus, 'RUNNING' | 'SCHEDULED'>): Promise<void>;
}

export interface TrackingClient {
  startRun(options?: StartRunOptions): Promise<ActiveRun>;
  /**
   * Logs into an existing run, as MLflow's `start_run(run_id=...)` resumes one: a pipeline's run
   * that a stage's `keel train` adds to, or `keel evaluate --run-id`. The caller that attaches does
   * not end the run; its owner does.
   * @throws KeelError RESOURCE_DOES_NOT_EXIST for an unknown run, INVALID_PARAMETER_VALUE for a deleted one.
   */
  attachRun(runId: string): Promise<ActiveRun>;
  close(): Promise<void>;
}
