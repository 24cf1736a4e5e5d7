import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readLock } from '../../src/pipeline/lock.js';
import { repro } from '../../src/pipeline/repro.js';
import { Workspace } from '../../src/pipeline/workspace.js';
import type {
  ActiveRun,
  DatasetInput,
  ParamValue,
  RunStatus,
  StartRunOptions,
  TrackingClient,
} from '../../src/tracking/client.js';
import { copyExample } from './helpers.js';

/** Keeps what was logged: the real client is wired in by the lead; this one only records. */
class RecordingClient implements TrackingClient {
  runs: Array<{
    options?: StartRunOptions;
    params: Record<string, ParamValue>;
    metrics: Record<string, number>;
    inputs: DatasetInput[];
    status?: RunStatus;
  }> = [];
  async startRun(options?: StartRunOptions): Promise<ActiveRun> {
    const rec = {
      options,
      params: {},
      metrics: {},
      inputs: [] as DatasetInput[],
      status: undefined as RunStatus | undefined,
    };
    this.runs.push(rec);
    return {
      runId: `run${this.runs.length}`,
      experimentId: '1',
      logParams: async (p) => void Object.assign(rec.params, p),
      logMetrics: async (m) => void Object.assign(rec.metrics, m),
      setTags: async () => {},
      logInputs: async (d) => void rec.inputs.push(...d),
      logArtifact: async () => {},
      flush: async () => {},
      end: async (status = 'FINISHED') => {
        rec.status = status;
      },
    };
  }
  async close(): Promise<void> {}
}

let ws: Workspace | undefined;
afterEach(async () => ws?.close());

describe('repro with a tracking client', () => {
  it('records one run with params, metrics values, deps as dataset inputs, the lock hash and environment capture', async () => {
    const root = copyExample();
    ws = Workspace.open(root);
    const client = new RecordingClient();
    const result = await repro(ws, { tracking: client });
    expect(result.runId).toBe('run1');
    expect(client.runs).toHaveLength(1);
    const run = client.runs[0];
    expect(run.status).toBe('FINISHED');
    expect(run.options?.captureEnvironment).toBe(true);
    expect(run.options?.tags?.['keel.pipeline.lock_sha256']).toBe(result.lockHash);
    expect(run.options?.tags?.['keel.pipeline.stages_ran']).toBe('prepare,train,evaluate');
    expect(run.params).toMatchObject({ 'prepare.seed': 42, 'train.epochs': 30, 'train.learning_rate': 0.1 });
    expect(Object.keys(run.metrics).sort()).toEqual(['accuracy', 'auc', 'loss', 'n', 'rows']);
    const lock = readLock(join(root, 'dvc.lock'));
    const raw = run.inputs.find((i) => i.name === 'data/raw.csv');
    expect(raw?.digest).toBe(lock.stages.prepare.deps?.find((d) => d.path === 'data/raw.csv')?.md5);
  });
});
