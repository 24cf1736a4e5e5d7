/**
 * The CLI as a user runs it: demo, experiments, runs; `--json` output; exit codes for bad input.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { keel } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/tracking.js';

describe('keel CLI: tracking', () => {
  const cwd = tempDir();
  let demo: { runs: Array<{ runId: string }>; best: { runId: string; learningRate: number } };

  beforeAll(() => {
    const res = keel(['demo', '--json'], { cwd });
    expect(res.code, res.stderr).toBe(0);
    demo = JSON.parse(res.stdout);
  });

  it('runs the demo, which tracks three runs and finds the best by search', () => {
    expect(demo.runs).toHaveLength(3);
    expect(demo.best.learningRate).toBeGreaterThan(0.01);
  });

  it('lists experiments and runs, as text and as JSON', () => {
    const exps = keel(['experiments', 'list', '--json'], { cwd });
    expect(exps.code).toBe(0);
    expect(JSON.parse(exps.stdout).map((e: { name: string }) => e.name)).toContain('keel-demo');
    const text = keel(['runs', 'list', '--experiment', 'keel-demo'], { cwd });
    expect(text.stdout).toMatch(/^RUN ID\s+NAME/);
    expect(text.stdout.trim().split('\n')).toHaveLength(4);
    const filtered = keel(
      ['runs', 'list', '--experiment', 'keel-demo', '--filter', "params.learning_rate = '0.01'", '--json'],
      { cwd },
    );
    expect(JSON.parse(filtered.stdout)).toHaveLength(1);
  });

  it('shows a run', () => {
    const res = keel(['runs', 'show', demo.best.runId, '--json'], { cwd });
    expect(res.code).toBe(0);
    const run = JSON.parse(res.stdout);
    expect(run.info.run_id).toBe(demo.best.runId);
    expect(run.data.params).toContainEqual({ key: 'model', value: 'linear' });
  });

  it.each([
    [['runs', 'show', 'feedbeef', '--json'], 4, /Run with id=feedbeef not found/],
    [['runs', 'show', '../x', '--json'], 2, /Invalid run ID/],
    [['runs', 'list', '--experiment', 'nope', '--json'], 4, /Could not find experiment/],
    [['runs', 'list', '--filter', 'metrics.auc >>> 1', '--json'], 2, /Invalid filter/],
  ])('keel %j exits %i with a JSON error', (args, code, message) => {
    const res = keel(args as string[], { cwd });
    expect(res.code).toBe(code);
    const body = JSON.parse(res.stdout);
    expect(body.message).toMatch(message);
    expect(body.error_code).toBeTruthy();
  });

  it('gives usage errors exit code 2 and a message on stderr', () => {
    const unknown = keel(['frobnicate'], { cwd });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command/);
    const badNumber = keel(['runs', 'list', '--max', 'ten'], { cwd });
    expect(badNumber.code).toBe(2);
    expect(badNumber.stderr).toMatch(/--max must be an integer/);
    expect(keel(['--help'], { cwd }).code).toBe(0);
  });

  it('refuses a malformed keel.yaml with its field named', async () => {
    const dir = tempDir();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${dir}/keel.yaml`, 'server: { port: -1 }\n');
    const res = keel(['experiments', 'list'], { cwd: dir });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/server\.port/);
  });
});
