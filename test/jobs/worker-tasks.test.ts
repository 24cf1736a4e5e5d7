/**
 * Work other than scoring on a `keel worker` child process against the Redis on this machine:
 * `keel jobs submit materialize` materializes a feature view window into the online store; a task
 * that fails on its input fails at once (no second try) and `--wait` exits with its error's code;
 * `keel jobs list|show` tell both stories. The queue has its own prefix, deleted afterwards.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, shortId } from '../../src/core/index.js';
import { buildRepo, FeatureStore } from '../../src/features/index.js';
import { JobQueue } from '../../src/jobs/index.js';
import { type BackgroundKeel, keel, keelJson, startKeel } from '../helpers/cli.js';
import { serviceUrl } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';
import { customerSnapshots } from '../serving/fixtures.js';

const redis = await serviceUrl('redis');

describe.skipIf(!redis)('keel jobs submit on a keel worker', () => {
  const cwd = tempDir();
  const prefix = `keel-test-${shortId()}`;
  let worker: BackgroundKeel;

  beforeAll(async () => {
    writeFileSync(join(cwd, 'keel.yaml'), `jobs:\n  redis: ${redis}\n  prefix: ${prefix}\n`);
    const store = new FeatureStore({ config: loadConfig({ cwd, env: {} }) });
    store.applyRepo(buildRepo(customerSnapshots(cwd).definitions));
    await store.close();
    worker = startKeel(['worker', '--name', 'solo'], { cwd });
    await worker.waitFor(/takes tasks from/);
  }, 120_000);

  afterAll(async () => {
    await worker?.stop().catch(() => undefined);
    const queue = await JobQueue.open(loadConfig({ cwd, env: {} }), {});
    await queue.destroy();
    await queue.close();
  }, 120_000);

  it('materializes a window on the worker; the online store then answers', async () => {
    const done = await keelJson<{
      job: { id: string; status: string; kind: string };
      tasks: Array<{
        state: string;
        workers: string[];
        result: { views: Array<{ view: string; rows: number }> };
      }>;
    }>(
      [
        'jobs',
        'submit',
        'materialize',
        '--start',
        '2023-12-01T00:00:00Z',
        '--end',
        '2024-01-05T00:00:00Z',
        '--views',
        'customer_stats',
        '--wait',
      ],
      { cwd },
    );
    expect(done.job).toMatchObject({ kind: 'materialize', status: 'done' });
    expect(done.tasks).toHaveLength(1);
    expect(done.tasks[0]).toMatchObject({ state: 'completed', workers: ['solo'] });
    // Ten customers, each its latest snapshot.
    expect(done.tasks[0].result.views).toEqual([
      expect.objectContaining({ view: 'customer_stats', rows: 10 }),
    ]);
    // Without --wait the job is queued, and it reads as done once its task is.
    const queued = await keelJson<{ id: string; status: string }>(
      ['jobs', 'submit', 'materialize', '--start', '2023-12-01T00:00:00Z', '--end', '2024-01-05T00:00:00Z'],
      { cwd },
    );
    expect(queued.status).toBe('running');
    await waitFor(
      `job ${queued.id} done`,
      () => keelJson<{ job: { status: string } }>(['jobs', 'show', queued.id], { cwd }),
      (s) => s.job.status === 'done',
      { timeoutMs: 120_000, everyMs: 500 },
    );
    const online = await keelJson<{ results: Array<{ statuses: string[] }> }>(
      [
        'features',
        'get-online',
        '--features',
        'customer_stats:a',
        '--entity',
        'customer_id=3',
        '--at',
        '2024-01-03T00:00:00Z',
      ],
      { cwd },
    );
    expect(online.results.at(-1)?.statuses).toEqual(['PRESENT']);
  }, 300_000);

  it('fails a task on bad input at once; --wait exits with its code and the job is recorded failed', async () => {
    const res = await keel(
      [
        'jobs',
        'submit',
        'materialize',
        '--start',
        '2024-01-01T00:00:00Z',
        '--end',
        '2024-01-02T00:00:00Z',
        '--views',
        'nope',
        '--wait',
        '--json',
      ],
      { cwd },
    );
    const error = JSON.parse(res.stdout);
    expect(res.code, res.stdout).not.toBe(0);
    expect(res.code).not.toBe(1);
    expect(error.message).toMatch(/nope/);
    const job = error.details.job as string;
    const show = await keelJson<{
      job: { status: string; error: string };
      tasks: Array<{ state: string; attempts: number }>;
    }>(['jobs', 'show', job], { cwd });
    expect(show.job.status).toBe('failed');
    expect(show.tasks[0]).toMatchObject({ state: 'failed', attempts: 1 });
    const list = await keelJson<Array<{ id: string; status: string }>>(['jobs', 'list'], { cwd });
    expect(list.map((j) => j.status)).toEqual(['failed', 'done', 'done']);
    const missing = await keel(['jobs', 'show', 'score-nothing', '--json'], { cwd });
    expect(missing.code).toBe(4);
  }, 300_000);
});
