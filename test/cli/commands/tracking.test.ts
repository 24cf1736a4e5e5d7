/**
 * The CLI as a user runs it: experiments, runs; `--json` output; exit codes for bad input. The runs
 * it reads are logged beforehand through the library, into the same folder's embedded store.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/core/index.js';
import { openTrackingClient } from '../../../src/tracking/index.js';
import { keel } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/tracking.js';

const LEARNING_RATES = [0.01, 0.05, 0.2];

describe('keel CLI: tracking', () => {
  const cwd = tempDir();
  const runIds: string[] = [];

  beforeAll(async () => {
    const client = await openTrackingClient(loadConfig({ cwd, env: {} }), {});
    for (const learningRate of LEARNING_RATES) {
      const run = await client.startRun({ experiment: 'tour', runName: `linear-lr-${learningRate}` });
      await run.logParams({ learning_rate: learningRate, model: 'linear' });
      for (let step = 0; step < 3; step++) await run.logMetrics({ mse: learningRate / (step + 1) }, { step });
      await run.logMetrics({ final_mse: learningRate / 3 });
      await run.end();
      runIds.push(run.runId);
    }
    await client.close();
  });

  it('lists experiments and runs, as text and as JSON', async () => {
    const exps = await keel(['experiments', 'list', '--json'], { cwd });
    expect(exps.code).toBe(0);
    expect(JSON.parse(exps.stdout).map((e: { name: string }) => e.name)).toContain('tour');
    const text = await keel(['runs', 'list', '--experiment', 'tour'], { cwd });
    expect(text.stdout).toMatch(/^RUN ID\s+NAME/);
    expect(text.stdout.trim().split('\n')).toHaveLength(4);
    const filtered = await keel(
      ['runs', 'list', '--experiment', 'tour', '--filter', "params.learning_rate = '0.01'", '--json'],
      { cwd },
    );
    expect(JSON.parse(filtered.stdout)).toHaveLength(1);
    const best = await keel(
      ['runs', 'list', '--experiment', 'tour', '--order-by', 'metrics.final_mse ASC', '--max', '1', '--json'],
      { cwd },
    );
    expect(JSON.parse(best.stdout).map((r: { info: { run_id: string } }) => r.info.run_id)).toEqual([
      runIds[0],
    ]);
  });

  it('shows the columns asked for, and always the key the list is sorted by', async () => {
    const res = await keel(
      [
        'runs',
        'list',
        '--experiment',
        'tour',
        '--order-by',
        'metrics.final_mse DESC',
        '--columns',
        'params.learning_rate',
      ],
      { cwd },
    );
    expect(res.code, res.stderr).toBe(0);
    const [header, first] = res.stdout.trim().split('\n');
    expect(header).toMatch(/STARTED\s+final_mse\s+params\.learning_rate$/);
    expect(first).toMatch(/0\.0666667\s+0\.2$/);
    const bad = await keel(['runs', 'list', '--columns', 'loss'], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--columns: 'loss' must be metrics.<key>, params.<key> or tags.<key>");
  });

  it('ends a run left running and deletes and restores one', async () => {
    const client = await openTrackingClient(loadConfig({ cwd, env: {} }), {});
    const left = await client.startRun({ experiment: 'crashed' });
    await client.close();
    const ended = await keel(['runs', 'end', left.runId, '--status', 'killed'], { cwd });
    expect(ended.code, ended.stderr).toBe(0);
    expect(ended.stdout.trim()).toBe(`run ${left.runId} ended: KILLED`);
    const deleted = await keel(['runs', 'delete', left.runId], { cwd });
    expect(deleted.stdout).toContain(`run ${left.runId} deleted`);
    const listed = await keel(['runs', 'list', '--experiment', 'crashed', '--json'], { cwd });
    expect(JSON.parse(listed.stdout)).toEqual([]);
    expect((await keel(['runs', 'delete', left.runId, '--restore'], { cwd })).code).toBe(0);
    const shown = JSON.parse((await keel(['runs', 'show', left.runId, '--json'], { cwd })).stdout);
    expect(shown.info).toMatchObject({ status: 'KILLED', lifecycle_stage: 'active' });
    const bad = await keel(['runs', 'end', left.runId, '--status', 'done'], { cwd });
    expect(bad.code).toBe(2);
  });

  it('shows a run', async () => {
    const res = await keel(['runs', 'show', runIds[1], '--json'], { cwd });
    expect(res.code).toBe(0);
    const run = JSON.parse(res.stdout);
    expect(run.info.run_id).toBe(runIds[1]);
    expect(run.data.params).toContainEqual({ key: 'learning_rate', value: '0.05' });
    expect(run.data.metrics).toContainEqual(expect.objectContaining({ key: 'mse', step: 2 }));
  });

  it.each([
    [['runs', 'show', 'feedbeef', '--json'], 4, /Run with id=feedbeef not found/],
    [['runs', 'show', '../x', '--json'], 2, /Invalid run ID/],
    [['runs', 'list', '--experiment', 'nope', '--json'], 4, /Could not find experiment/],
    [['runs', 'list', '--filter', 'metrics.auc >>> 1', '--json'], 2, /Invalid filter/],
  ])('keel %j exits %i with a JSON error', async (args, code, message) => {
    const res = await keel(args as string[], { cwd });
    expect(res.code).toBe(code);
    const body = JSON.parse(res.stdout);
    expect(body.message).toMatch(message);
    expect(body.error_code).toBeTruthy();
  });

  it('gives usage errors exit code 2 and a message on stderr', async () => {
    const unknown = await keel(['frobnicate'], { cwd });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command/);
    const badNumber = await keel(['runs', 'list', '--max', 'ten'], { cwd });
    expect(badNumber.code).toBe(2);
    expect(badNumber.stderr).toMatch(/--max must be an integer/);
    expect((await keel(['--help'], { cwd })).code).toBe(0);
  });

  it('refuses a malformed keel.yaml with its field named', async () => {
    const dir = tempDir();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${dir}/keel.yaml`, 'server: { port: -1 }\n');
    const res = await keel(['experiments', 'list'], { cwd: dir });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/server\.port/);
  });
});
