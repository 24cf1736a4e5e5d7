import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lockItems, lockStage, readLock } from '../../src/pipeline/lock.js';
import { repro } from '../../src/pipeline/repro.js';
import { Workspace } from '../../src/pipeline/workspace.js';
import { localTrackingClient } from '../../src/tracking/index.js';
import { openTestTracking } from '../helpers/tracking.js';
import { copyExample, makeProject } from './helpers.js';

let ws: Workspace | undefined;
afterEach(async () => ws?.close());

describe('repro with a tracking client', () => {
  it('records one run with params, metrics values, deps as dataset inputs, the lock hash and environment capture', async () => {
    const root = copyExample();
    ws = Workspace.open(root);
    const { tracking, cleanup } = await openTestTracking('sqlite');
    const result = await repro(ws, { tracking: localTrackingClient(tracking, root) });
    const found = await tracking.runs.search({
      experimentIds: (await tracking.experiments.search()).items.map((e) => e.experiment_id),
    });
    expect(found.items.map((r) => r.info.run_id)).toEqual([result.runId]);
    const run = found.items[0];
    await cleanup();
    const tags = Object.fromEntries(run.data.tags.map((t) => [t.key, t.value]));
    const params = Object.fromEntries(run.data.params.map((p) => [p.key, p.value]));
    expect(run.info.status).toBe('FINISHED');
    expect(tags['keel.env.node']).toBe(process.version);
    expect(tags['keel.pipeline.lock_sha256']).toBe(result.lockHash);
    expect(tags['keel.pipeline.stages_ran']).toBe('prepare,train,evaluate');
    expect(params).toMatchObject({
      'prepare.seed': '42',
      'train.epochs': '30',
      'train.learning_rate': '0.1',
    });
    expect(run.data.metrics.map((m) => m.key).sort()).toEqual(['accuracy', 'auc', 'loss', 'n', 'rows']);
    const lock = readLock(join(root, 'dvc.lock'));
    const raw = run.inputs.dataset_inputs.find((i) => i.dataset.name === 'data/raw.csv');
    expect(raw?.dataset.digest).toBe(
      lockItems(lockStage(lock, 'prepare'), 'deps').find((d) => d.path === 'data/raw.csv')?.md5,
    );
  });

  it("gives each stage's cmd the run's id (KEEL_RUN_ID) and the extra environment, so a stage's keel train logs into it", async () => {
    const root = makeProject({
      'in.txt': 'a\n',
      'dvc.yaml':
        'stages:\n  first:\n    cmd: echo "$KEEL_RUN_ID $EXTRA" > run.txt\n    deps: [in.txt]\n    outs: [run.txt]\n',
    });
    ws = Workspace.open(root);
    const { tracking, cleanup } = await openTestTracking('sqlite');
    try {
      const client = localTrackingClient(tracking, root);
      const result = await repro(ws, { tracking: client, env: { EXTRA: 'x' } });
      expect(readFileSync(join(root, 'run.txt'), 'utf8')).toBe(`${result.runId} x\n`);
      const run = await tracking.runs.get(result.runId!);
      expect(run.info).toMatchObject({ status: 'FINISHED', run_name: 'repro first' });
      // Nothing changed: no stage runs and no run is started.
      const again = await repro(ws, { tracking: client });
      expect(again.runId).toBeUndefined();
      const all = await tracking.runs.search({
        experimentIds: (await tracking.experiments.search()).items.map((e) => e.experiment_id),
      });
      expect(all.items).toHaveLength(1);
    } finally {
      await cleanup();
    }
  });
});
