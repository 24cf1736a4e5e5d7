/**
 * `keel models ...` and `keel tokens create` as a user runs them, as child processes on one
 * project folder: register, benchmark, a refused promotion (exit 7), a promotion request approved
 * by a different user's token, rollback and the audit log.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/index.js';
import { Registry } from '../../src/registry/index.js';
import { keel } from '../helpers/cli.js';
import { writeLogisticModel } from '../helpers/onnx.js';
import { tempDir } from '../helpers/tracking.js';
import { trainedRun, writeMlflowFolder } from '../registry/fixtures.js';

const POLICY = `governance:
  stages:
    Production:
      requireApproval: true
      gates:
        - { kind: metric, metric: auc, op: '>=', value: 0.85 }
        - { kind: latency, maxP99Ms: 1000 }
        - { kind: lineage }
`;

describe('keel models', () => {
  const cwd = tempDir();
  let runId: string;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    writeFileSync(join(cwd, 'keel.yaml'), POLICY);
    // Set-up through the library, to keep the child processes to the commands under test.
    const registry = await Registry.open(loadConfig({ cwd, env: {} }));
    runId = await trainedRun(registry.tracking);
    await registry.models.create('churn');
    await registry.versions.create({ name: 'churn', source: writeLogisticModel(tempDir()) });
    tokens.bob = (await registry.tokens.create('bob', 'approver')).token;
    await registry.close();
    const res = await keel(['tokens', 'create', '--user', 'alice', '--role', 'writer', '--json'], { cwd });
    expect(res.code, res.stderr).toBe(0);
    tokens.alice = JSON.parse(res.stdout).token;
  });

  it('registers, refuses a failing promotion, and promotes after approval by another user', async () => {
    const reg = await keel(['models', 'register', 'churn', `runs:/${runId}/model`, '--json'], {
      cwd,
      env: { KEEL_TOKEN: tokens.alice },
    });
    expect(reg.code, reg.stderr).toBe(0);
    expect(JSON.parse(reg.stdout)).toMatchObject({ version: '2', user_id: 'alice', run_id: runId });
    const bench = await keel(['models', 'benchmark', 'churn', '2', '--iterations', '30', '--json'], { cwd });
    expect(bench.code, bench.stderr).toBe(0);
    expect(JSON.parse(bench.stdout).p99_ms).toBeGreaterThan(0);

    const refused = await keel(['models', 'promote', 'churn', '1', '--to', 'Production'], {
      cwd,
      env: { KEEL_TOKEN: tokens.alice },
    });
    expect(refused.code).toBe(7);
    expect(refused.stderr).toContain(
      "failed gates 'metric auc >= 0.85', 'latency p99 < 1000 ms', 'lineage complete'",
    );
    expect(refused.stderr).toMatch(/FAIL {2}latency p99 < 1000 ms: not measured/);

    const pending = await keel(['models', 'promote', 'churn', '2', '--to', 'Production', '--json'], {
      cwd,
      env: { KEEL_TOKEN: tokens.alice },
    });
    expect(pending.code, pending.stderr).toBe(0);
    const request = JSON.parse(pending.stdout);
    expect(request).toMatchObject({ status: 'pending_approval', version: '2' });

    const selfApprove = await keel(['models', 'approve', String(request.request_id)], {
      cwd,
      env: { KEEL_TOKEN: tokens.alice },
    });
    expect(selfApprove.code).toBe(5);
    expect(selfApprove.stderr).toContain("'approver' role");
    const approved = await keel(
      ['models', 'approve', String(request.request_id), '--reason', 'metrics hold'],
      {
        cwd,
        env: { KEEL_TOKEN: tokens.bob },
      },
    );
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toContain('churn version 2: None -> Production');

    const audit = await keel(['models', 'audit', 'churn', '--json'], { cwd });
    const entries = JSON.parse(audit.stdout) as Array<{
      action: string;
      outcome: string;
      actor: string;
      version?: string;
    }>;
    const attempts = entries.filter((e) => ['promote', 'approval_requested', 'approve'].includes(e.action));
    expect(attempts.map((e) => [e.action, e.outcome, e.actor, e.version])).toEqual([
      ['promote', 'refused', 'alice', '1'],
      ['approval_requested', 'pending', 'alice', '2'],
      ['approve', 'applied', 'bob', '2'],
    ]);
    const list = await keel(['models', 'list'], { cwd });
    expect(list.stdout).toMatch(/churn\s+2\s+2\s+champion=2/);
  });

  it('evaluates a registered version into its own run, where its gates read the metrics', async () => {
    const rows = [
      'a,b,c,y',
      ...Array.from({ length: 40 }, (_, i) => `${i % 7},${(i * 3) % 5},${i % 2},${i % 2}`),
    ];
    writeFileSync(join(cwd, 'eval.csv'), `${rows.join('\n')}\n`);
    const args = [
      'evaluate',
      '--model',
      'models:/churn/2',
      '--data',
      'eval.csv',
      '--features',
      'a,b,c',
      '--target',
      'y',
      '--task',
      'binary',
    ];
    const res = await keel(args, { cwd });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.trim().split('\n').pop()).toBe(`logged to run ${runId}`);
    const doc = JSON.parse((await keel([...args, '--json'], { cwd })).stdout);
    expect(doc).toMatchObject({ runId, attached: true, model: 'models:/churn/2' });
    const registry = await Registry.open(loadConfig({ cwd, env: {} }));
    try {
      const run = await registry.tracking.runs.get(runId);
      expect(run.data.metrics.find((m) => m.key === 'roc_auc')?.value).toBe(doc.metrics.roc_auc);
      expect(run.inputs.dataset_inputs.map((d) => d.dataset.name)).toContain('eval.csv');
    } finally {
      await registry.close();
    }
  });

  it('sets and deletes aliases, shows every version, and names what exists when a model, version or alias is missing', async () => {
    const set = await keel(['models', 'alias', 'churn', 'challenger', '1'], { cwd });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout.trim()).toBe('churn@challenger -> version 1');
    const shown = await keel(['models', 'show', 'churn'], { cwd });
    // Every version, newest first, with stage and aliases.
    expect(shown.stdout).toMatch(
      /VERSION\s+STAGE\s+ALIASES\s+CREATED\s+BY\s+RUN\n2\s+Production\s+@champion\s+.*\n1\s+None\s+@challenger\s/,
    );
    const json = JSON.parse((await keel(['models', 'show', 'churn', '--json'], { cwd })).stdout);
    expect(json.versions.map((v: { version: string }) => v.version)).toEqual(['2', '1']);
    expect((await keel(['models', 'alias', 'churn', 'challenger', '--delete'], { cwd })).stdout.trim()).toBe(
      'churn@challenger deleted',
    );
    // champion is governed as Production is (the two move together): version 1 fails the gates.
    const champion = await keel(['models', 'alias', 'churn', 'champion', '1'], { cwd });
    expect(champion.code).toBe(7);
    expect(champion.stderr).toContain(
      "Version 1 of 'churn' cannot take alias 'champion' (and Production): failed gates 'metric auc >= 0.85'",
    );
    expect(champion.stderr).toMatch(/FAIL {2}lineage complete/);
    const neither = await keel(['models', 'alias', 'churn', 'challenger'], { cwd });
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('give the version @challenger should name, or --delete');

    const model = await keel(['models', 'show', 'chrun'], { cwd });
    expect(model.code).toBe(4);
    expect(model.stderr.trim()).toBe(
      'keel: Registered Model with name=chrun not found (registered models: churn)',
    );
    const version = await keel(['models', 'show', 'churn', '9'], { cwd });
    expect(version.stderr.trim()).toBe(
      'keel: Model Version (name=churn, version=9) not found (versions of churn: 1, 2)',
    );
    const alias = await keel(['evaluate', '--model', 'models:/churn@challenger', '--data', 'x.csv'], { cwd });
    expect(alias.stderr.trim()).toBe(
      "keel: Registered model alias challenger not found on model 'churn' (aliases of churn: @champion)",
    );
  });

  it('registers an MLflow model Keel cannot serve, shows why, and refuses to serve it with that reason', async () => {
    const dir = join(tempDir(), 'sk');
    writeMlflowFolder(dir, 'sklearn');
    const reg = await keel(['models', 'register', 'churn-sk', dir, '--json'], { cwd });
    expect(reg.code, reg.stderr).toBe(0);
    expect(JSON.parse(reg.stdout)).toMatchObject({
      version: '1',
      tags: [{ key: 'keel.servable', value: 'false' }],
    });
    const shown = await keel(['models', 'show', 'churn-sk', '1'], { cwd });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(
      'files: mlflow-artifacts:/models/churn-sk/1 (MLmodel flavors: python_function, sklearn)',
    );
    expect(shown.stdout).toContain(
      'servable: no: it holds no ONNX model (MLmodel flavors: python_function, sklearn)',
    );
    const served = await keel(['models', 'show', 'churn', '2'], { cwd });
    expect(served.stdout).toContain('servable: yes (model.onnx)');
    const bench = await keel(['models', 'benchmark', 'churn-sk', '1'], { cwd });
    expect(bench.code).toBe(7);
    expect(bench.stderr).toContain(
      "keel: Version 1 of 'churn-sk' cannot be served by Keel: it holds no ONNX model",
    );
  });
});
