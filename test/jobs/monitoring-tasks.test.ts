/**
 * Monitor runs and retraining on a `keel worker` child process: `keel jobs submit monitor` stores a
 * monitor run made by the worker (cause `job`), and `keel jobs submit retrain` runs the model's
 * recipe from keel.yaml there and registers the new version; a failing recipe fails the job once
 * (exit 9). Own queue prefix, deleted afterwards.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shortId } from '../../src/core/index.js';
import { JobQueue } from '../../src/jobs/index.js';
import { type BackgroundKeel, keel, keelJson, startKeel } from '../helpers/cli.js';
import { serviceUrl } from '../helpers/services.js';
import { type MonitoredWorld, monitoredWorld, writeRecipe } from '../monitoring/world.js';

const redis = await serviceUrl('redis');

interface Done {
  job: { status: string };
  tasks: Array<{ state: string; workers: string[]; result: Record<string, unknown> }>;
}

describe.skipIf(!redis)('monitor and retraining jobs on a keel worker', () => {
  const prefix = `keel-test-${shortId()}`;
  let world: MonitoredWorld;
  let worker: BackgroundKeel;

  beforeAll(async () => {
    world = await monitoredWorld('sqlite', undefined, {
      keelYaml: [
        'monitoring:',
        '  models:',
        '    churn:',
        '      retrain: { recipe: { train: train.yaml } }',
        'jobs:',
        `  redis: ${redis}`,
        `  prefix: ${prefix}`,
        '',
      ].join('\n'),
    });
    writeRecipe(world.dir);
    worker = startKeel(['worker', '--name', 'mon'], { cwd: world.dir, env: world.env });
    await worker.waitFor(/takes tasks from/);
  }, 120_000);

  afterAll(async () => {
    await worker?.stop().catch(() => undefined);
    if (world) {
      const queue = await JobQueue.open(world.config, {});
      await queue.destroy();
      await queue.close();
      await world.close();
    }
  }, 120_000);

  const run = <T>(args: string[]) => keelJson<T>(args, { cwd: world.dir, env: world.env });

  it('runs the monitor of a model on the worker and stores the run', async () => {
    const done = await run<Done>([
      'jobs',
      'submit',
      'monitor',
      '--model',
      'churn',
      '--window',
      '1h',
      '--wait',
    ]);
    expect(done.job.status).toBe('done');
    expect(done.tasks[0]).toMatchObject({ state: 'completed', workers: ['mon'] });
    const history = await run<Array<{ id: string; cause: string }>>([
      'monitor',
      'history',
      '--model',
      'churn',
    ]);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ cause: 'job', id: done.tasks[0].result.run });
  }, 300_000);

  it('retrains with the recipe on the worker and registers the new version', async () => {
    const done = await run<Done>([
      'jobs',
      'submit',
      'retrain',
      '--model',
      'churn',
      '--reason',
      'new labels',
      '--wait',
    ]);
    expect(done.tasks[0]).toMatchObject({
      state: 'completed',
      result: { status: 'succeeded', version: '2' },
    });
    const history = await run<Array<{ status: string; requestedBy: string; reason: string }>>([
      'retrain',
      'history',
    ]);
    expect(history[0]).toMatchObject({
      status: 'succeeded',
      requestedBy: 'keel worker',
      reason: 'new labels',
    });
  }, 300_000);

  it('fails a retraining whose recipe fails once, with exit 9, without trying it again', async () => {
    writeFileSync(
      join(world.dir, 'train.yaml'),
      'data: { path: nowhere.csv, target: churned }\nmodel: { kind: gbdt }\n',
    );
    const res = await keel(
      ['jobs', 'submit', 'retrain', '--model', 'churn', '--reason', 'broken', '--wait', '--json'],
      {
        cwd: world.dir,
        env: world.env,
      },
    );
    expect(res.code, res.stdout).toBe(9);
    const error = JSON.parse(res.stdout);
    expect(error.message).toMatch(/retraining \d+ of 'churn' failed/);
    const show = await run<{ tasks: Array<{ state: string; attempts: number }> }>([
      'jobs',
      'show',
      error.details.job,
    ]);
    expect(show.tasks[0]).toMatchObject({ state: 'failed', attempts: 1 });
  }, 300_000);
});
