/**
 * Distributed batch scoring as a user runs it: `keel worker` processes (child processes) against
 * the Redis on this machine, `keel score --distributed` splitting a file into chunk jobs. One
 * worker is killed (SIGKILL) in the middle of a chunk: BullMQ's stalled-job check gives the chunk
 * to another worker, and the output holds every chunk's rows exactly once, one part per chunk.
 * Each test has its own queue prefix, and its Redis keys are deleted afterwards.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, shortId } from '../../src/core/index.js';
import { JobQueue } from '../../src/jobs/index.js';
import { predictGbdt } from '../../src/ml/index.js';
import { Registry } from '../../src/registry/index.js';
import { type BackgroundKeel, keel, keelJson, startKeel } from '../helpers/cli.js';

/** `keel score --distributed` of `model` over `data` into `out`, with `extra` options. */
const distributed = (model: string, data: string, out: string, ...extra: string[]) => [
  'score',
  '--distributed',
  '-m',
  model,
  '-d',
  data,
  '-o',
  out,
  ...extra,
];

import { serviceUrl } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';
import {
  featureMatrix,
  query,
  registerModel,
  scoringRows,
  trainModel,
  writeCsv,
  writeParquet,
} from '../serving/fixtures.js';

const redis = await serviceUrl('redis');
const ROWS = 24_000;
const CHUNK = 2_000;

interface TaskJson {
  index: number;
  state: string;
  attempts: number;
  stalls: number;
  workers: string[];
}

describe.skipIf(!redis)('keel score --distributed on keel worker processes', () => {
  const cwd = tempDir();
  const prefix = `keel-test-${shortId()}`;
  const rows = scoringRows(ROWS, 11);
  const workers: BackgroundKeel[] = [];
  let expected: Float64Array;

  const alive = () => workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
  const startWorker = async (name: string) => {
    const w = startKeel(['worker', '--name', name], { cwd });
    workers.push(w);
    await w.waitFor(/takes tasks from/);
    return w;
  };

  beforeAll(async () => {
    // Locks that lapse 2 s after a worker dies, checked every second: a dead worker's chunk is
    // queued again within seconds rather than BullMQ's default 30.
    writeFileSync(
      join(cwd, 'keel.yaml'),
      [
        'governance:',
        '  stages: {}',
        'jobs:',
        `  redis: ${redis}`,
        `  prefix: ${prefix}`,
        '  lockDuration: 2s',
        '  stalledInterval: 1s',
        '',
      ].join('\n'),
    );
    const registry = await Registry.open(loadConfig({ cwd, env: {} }));
    const model = trainModel();
    await registerModel(registry, model, tempDir());
    await registry.promote('churn', 1, 'Production');
    await registry.close();
    expected = predictGbdt(model, featureMatrix(rows));
    await writeParquet(join(cwd, 'rows.parquet'), rows);
    writeCsv(join(cwd, 'rows.csv'), rows);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop().catch(() => undefined)));
    const queue = await JobQueue.open(loadConfig({ cwd, env: {} }), {});
    await queue.destroy();
    await queue.close();
  }, 120_000);

  it('retries the chunk of a worker killed mid-job elsewhere; every chunk is in the output once', async () => {
    const victim = await startWorker('victim');
    await Promise.all(['w1', 'w2'].map(startWorker));
    const scoring = keel(
      distributed(
        'models:/churn@champion',
        'rows.parquet',
        'scores',
        '--keep',
        'id',
        '--chunk-rows',
        String(CHUNK),
        '--json',
      ),
      { cwd },
    );
    // The victim dies the moment it starts its first chunk, before it can finish it.
    const started = await victim.waitFor(/(score-\S+-(\d+)) \(score-chunk\) try 1 started/);
    process.kill(victim.child.pid as number, 'SIGKILL');
    const res = await scoring;
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const result = JSON.parse(res.stdout);
    expect(result).toMatchObject({ rows: ROWS, chunks: ROWS / CHUNK, model: 'churn', version: '1' });
    expect(victim.output().stdout).not.toMatch(/try \d+ completed/);

    // Exactly the parts 0..n-1, each holding exactly its chunk's rows, in order.
    const parts = readdirSync(result.output).sort();
    expect(parts).toEqual(
      Array.from({ length: ROWS / CHUNK }, (_, i) => `part-${String(i).padStart(6, '0')}.parquet`),
    );
    for (const [i, part] of parts.entries()) {
      const ids = (await query(`SELECT id FROM read_parquet('${join(result.output, part)}')`)).rows.map((r) =>
        Number(r.id),
      );
      expect(ids).toEqual(rows.id.slice(i * CHUNK, (i + 1) * CHUNK));
    }
    const all = await query(`SELECT id, score FROM read_parquet('${result.output}/*.parquet') ORDER BY id`);
    expect(all.rows.length).toBe(ROWS);
    let diff = 0;
    all.rows.forEach((r, i) => {
      expect(Number(r.id)).toBe(rows.id[i]);
      diff = Math.max(diff, Math.abs(Number(r.score) - expected[i]));
    });
    expect(diff).toBeLessThan(1e-6);

    // The killed chunk was started twice: by the victim, then by another worker.
    const show = await keelJson<{ tasks: TaskJson[]; progress: Record<string, number>; workers: string[] }>(
      ['jobs', 'show', result.job],
      { cwd },
    );
    expect(show.progress).toMatchObject({ total: ROWS / CHUNK, done: ROWS / CHUNK, failed: 0 });
    const killed = show.tasks[Number(started[2])];
    expect(killed.state).toBe('completed');
    expect(killed.workers[0]).toBe('victim');
    expect(killed.workers.length).toBeGreaterThanOrEqual(2);
    expect(killed.workers.at(-1)).not.toBe('victim');
    expect(killed.stalls).toBeGreaterThanOrEqual(1);
    expect(killed.attempts).toBeGreaterThanOrEqual(2);
    expect(result.attempts).toBeGreaterThan(ROWS / CHUNK);
    expect(show.workers).toContain('victim');

    const listed = await keelJson<Array<{ id: string; status: string; progress: { done: number } }>>(
      ['jobs', 'list'],
      { cwd },
    );
    expect(listed.find((j) => j.id === result.job)).toMatchObject({
      status: 'done',
      progress: { done: ROWS / CHUNK },
    });
  }, 600_000);

  it('merges the parts of a CSV into one Parquet file; a bad chunk fails the job with its error', async () => {
    if (alive().length === 0) await startWorker('w3');
    const result = await keelJson<{ output: string; rows: number; chunks: number }>(
      distributed(
        'models:/churn/1',
        'rows.csv',
        'out/scores.parquet',
        '--keep',
        'id,note',
        '--chunk-rows',
        '5000',
      ),
      { cwd },
    );
    expect(result).toMatchObject({ rows: ROWS, chunks: Math.ceil(ROWS / 5000) });
    const out = await query(`SELECT * FROM read_parquet('${result.output}')`);
    // The whole file's order, and the kept columns typed over the whole CSV as `keel score` types them.
    expect(out.columns).toEqual(['id', 'note', 'score', 'model_name', 'model_version']);
    expect(out.types[0]).toBe('BIGINT');
    expect(out.rows.map((r) => Number(r.id))).toEqual(rows.id);
    expect(Math.max(...out.rows.map((r, i) => Math.abs(Number(r.score) - expected[i])))).toBeLessThan(1e-6);
    expect(readdirSync(join(cwd, 'out'))).toEqual(['scores.parquet']);

    const bad = await keel(
      distributed('models:/churn/1', 'rows.csv', 'bad.parquet', '--keep', 'nope', '--json'),
      { cwd },
    );
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout).message).toMatch(/no column 'nope' to keep/);
    const wrong = await keel(
      distributed('models:/churn/1', 'rows.csv', 'bad.parquet', '--columns', 'a,b,note', '--json'),
      { cwd },
    );
    expect(wrong.code, wrong.stdout).toBe(8);
    expect(JSON.parse(wrong.stdout).message).toMatch(
      /column 'note', row \d+ of 'rows\.csv': "n\d+" is not a number/,
    );
    expect(readdirSync(cwd).filter((f) => f.startsWith('bad') || f.startsWith('.bad'))).toEqual([]);
  }, 600_000);

  it('a worker stops on SIGTERM after its running task and exits 0', async () => {
    const running = alive();
    expect(running.length).toBeGreaterThan(0);
    for (const w of running) {
      expect(await w.stop()).toBe(0);
      expect(w.output().stdout).toMatch(/stopped/);
    }
  }, 120_000);

  it('a worker sent SIGTERM mid-chunk finishes the chunk before it exits; nothing is tried again', async () => {
    expect(alive()).toHaveLength(0);
    const worker = await startWorker('graceful');
    const scoring = keel(
      distributed('models:/churn/1', 'rows.parquet', 'one.parquet', '--chunk-rows', String(ROWS), '--json'),
      { cwd },
    );
    // A fresh worker's first chunk loads ONNX Runtime, DuckDB and the model: the signal lands in it.
    await worker.waitFor(/try 1 started/);
    expect(await worker.stop()).toBe(0);
    const out = worker.output().stdout;
    const order = ['try 1 started', 'stopping after the running tasks', 'try 1 completed', 'stopped'].map(
      (l) => out.indexOf(l),
    );
    expect(
      order.every((at) => at >= 0),
      out,
    ).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const res = await scoring;
    expect(res.code, res.stdout).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({
      rows: ROWS,
      chunks: 1,
      attempts: 1,
      workers: ['graceful'],
    });
  }, 300_000);
});
