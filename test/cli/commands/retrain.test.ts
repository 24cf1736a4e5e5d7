/**
 * `keel retrain --model M --reason TEXT` and `keel retrain history` as a user runs them: the
 * recipe in keel.yaml runs, the new version is registered, staged and named by the canary alias,
 * and the gate reports are printed; bad flags exit 2, a failing recipe exits 9.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keel } from '../../helpers/cli.js';
import { type MonitoredWorld, monitoredWorld, writeRecipe } from '../../monitoring/world.js';

describe('keel retrain', () => {
  let world: MonitoredWorld;
  beforeAll(async () => {
    world = await monitoredWorld('sqlite', undefined, {
      keelYaml: 'monitoring:\n  models:\n    churn:\n      retrain: { recipe: { train: train.yaml } }\n',
    });
    writeRecipe(world.dir);
  }, 60_000);
  afterAll(async () => world?.close());
  const run = (args: string[]) => keel(args, { cwd: world.dir, env: world.env });

  it('retrains with the recipe, stages the new version and prints its gate reports', async () => {
    const res = await run(['retrain', '--model', 'churn', '--reason', 'quarterly refresh']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^retraining 1 of churn \(event, by .+\): succeeded/);
    expect(res.stdout).toMatch(/why: quarterly refresh/);
    expect(res.stdout).toMatch(/registered version 2\n/);
    expect(res.stdout).toMatch(/Staging: promoted/);
    expect(res.stdout).toMatch(/canary: alias 'challenger' now names version 2/);
    expect(res.stdout).toMatch(
      /Production gates \(report only\):\n( {4}(PASS|FAIL) {2}.+\n)* {4}(PASS|FAIL) {2}metric roc_auc >= 0\.85/,
    );
    const history = JSON.parse((await run(['retrain', 'history', '--json'])).stdout);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ cause: 'event', status: 'succeeded', result: { version: '2' } });
  }, 120_000);

  it('exits 2 without a model or a reason, and 9 when the recipe fails', async () => {
    expect((await run(['retrain', '--reason', 'x'])).stderr).toMatch(/give the model to retrain: --model/);
    const noReason = await run(['retrain', '--model', 'churn']);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toMatch(/say why: --reason/);
    writeFileSync(
      join(world.dir, 'train.yaml'),
      'data: { path: nowhere.csv, target: churned }\nmodel: { kind: gbdt }\n',
    );
    const failed = await run(['retrain', '--model', 'churn', '--reason', 'broken']);
    expect(failed.code).toBe(9);
    expect(failed.stderr).toMatch(
      /retraining 2 of 'churn' failed: keel train --config train\.yaml .*nowhere\.csv/s,
    );
  }, 120_000);
});
