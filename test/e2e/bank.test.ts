/**
 * A user's own data to a governed production model, through documented `keel` commands only, on
 * data Keel has never seen: a synthetic copy of UCI's bank marketing calls (semicolon-separated,
 * quoted, target yes/no). Ingest, train in a `keel repro` stage (evaluation inside), evaluate on
 * newer calls into the same run, register the run's model, benchmark, Staging, a canary's
 * traffic, Production through the default gates with a second person's approval, and serving.
 *
 * One step is not a command: the canary gate wants seven days in Staging, so the test moves the
 * version's Staging date back eight days in the metadata database, as waiting a week would.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BANK_COLUMNS, BANK_DVC_YAML, BANK_SCHEMA, bankTrainYaml, writeBankCsv } from '../helpers/bank.js';
import { type BackgroundKeel, keel, keelJson, startKeel } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=ana@example.com', '-c', 'user.name=ana', ...args], { cwd });

interface Gate {
  gate: string;
  passed: boolean;
  message: string;
  fix?: string;
}

describe('from a bank marketing CSV to a governed production model, with keel commands only', () => {
  const cwd = tempDir('keel-bank-');
  const run = (args: string[], env?: Record<string, string>) => keel(args, { cwd, env });
  const json = <T = Record<string, unknown>>(args: string[], env?: Record<string, string>) =>
    keelJson<T>(args, { cwd, env });
  let runId: string;
  let server: BackgroundKeel | undefined;

  beforeAll(() => {
    writeBankCsv(join(cwd, 'bank-full.csv'), 4000, 1);
    writeBankCsv(join(cwd, 'bank-new.csv'), 1500, 2);
    writeFileSync(join(cwd, 'bank.schema.yaml'), BANK_SCHEMA);
    writeFileSync(join(cwd, 'train.yaml'), bankTrainYaml(100));
    writeFileSync(join(cwd, 'dvc.yaml'), BANK_DVC_YAML);
    writeFileSync(join(cwd, '.gitignore'), '.keel/\n/model.onnx\n');
    git(cwd, 'init', '-q');
    git(cwd, 'add', '.');
    git(cwd, 'commit', '-qm', 'bank marketing model');
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('ingests the semicolon file, sniffing its delimiter, and recognises the same batch again', async () => {
    const report = await json<{ accepted: boolean; rows: number }>([
      'ingest',
      'bank',
      'bank-full.csv',
      '--schema',
      'bank.schema.yaml',
    ]);
    expect(report).toMatchObject({ accepted: true, rows: 4000 });
    const again = await json<{ skipped?: { reason: string } }>([
      'ingest',
      'bank',
      'bank-full.csv',
      '--schema',
      'bank.schema.yaml',
    ]);
    expect(again.skipped?.reason).toMatch(/^the same batch \(sha256:[0-9a-f]+\.\.\.\) was ingested at /);
    const datasets = await json<Array<{ name: string; rows: number; partitions: number }>>([
      'datasets',
      'list',
    ]);
    expect(datasets).toEqual([expect.objectContaining({ name: 'bank', rows: 4000, partitions: 1 })]);
  });

  it('trains in a repro stage that calls keel train, into the repro run, with the evaluation inside', async () => {
    const repro = await json<{ runId: string }>(['repro']);
    runId = repro.runId;
    expect(runId).toMatch(/^[0-9a-f]{32}$/);
    expect(existsSync(join(cwd, 'model.onnx'))).toBe(true);
    const shown = await json<{
      data: { metrics: Array<{ key: string; value: number }>; tags: Array<{ key: string; value: string }> };
      inputs: { dataset_inputs: Array<{ dataset: { name: string; digest: string } }> };
    }>(['runs', 'show', runId]);
    const metrics = Object.fromEntries(shown.data.metrics.map((m) => [m.key, m.value]));
    const tags = Object.fromEntries(shown.data.tags.map((t) => [t.key, t.value]));
    expect(metrics.roc_auc).toBeGreaterThan(0.85);
    expect(metrics.disparate_impact).toBeGreaterThan(0.8);
    expect(metrics['marital.disparate_impact_ratio']).toBe(metrics.disparate_impact);
    expect(tags['keel.pipeline.lock_sha256']).toMatch(/^[0-9a-f]{64}$/);
    expect(tags['mlflow.source.git.commit']).toMatch(/^[0-9a-f]{40}$/);
    expect(tags['mlflow.source.git.dirty']).toBe('false');
    expect(shown.inputs.dataset_inputs.map((d) => d.dataset.name)).toContain('bank');
    // The stage's train states the split it used.
    const runs = await json<Array<{ info: { run_id: string } }>>([
      'runs',
      'list',
      '--experiment',
      'pipeline',
    ]);
    expect(runs.map((r) => r.info.run_id)).toEqual([runId]);
  });

  it('evaluates newer calls into the same run and says which run it logged to', async () => {
    const res = await run([
      'evaluate',
      '--model',
      'model.onnx',
      '--data',
      'bank-new.csv',
      '--sensitive',
      'marital',
      '--run-id',
      runId,
    ]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`logged to run ${runId}`);
    expect(res.stdout).toMatch(/evaluated model\.onnx on 1500 rows/);
  });

  it('registers the run model, and the failed Production gates say what would satisfy them', async () => {
    const version = await json<{ version: string }>(['models', 'register', 'bank', `runs:/${runId}/model`]);
    expect(version.version).toBe('1');
    await json(['models', 'benchmark', 'bank', '1', '--iterations', '50']);
    await json(['models', 'promote', 'bank', '1', '--to', 'Staging']);
    const refused = await run(['models', 'promote', 'bank', '1', '--to', 'Production', '--json']);
    expect(refused.code).toBe(7);
    const gates = JSON.parse(refused.stdout).details.gates as Gate[];
    const failed = gates.filter((g) => !g.passed);
    expect(failed.map((g) => g.gate)).toEqual([
      'canary >= 7 days, >= 1000 requests and error rate <= 1% in Staging',
    ]);
    expect(failed[0].fix).toContain(
      'keel serve --model models:/bank/1 --canary models:/bank/1 --canary-percent 100',
    );
  });

  it('collects a canary week and 1,000 canary requests', async () => {
    server = startKeel(
      [
        'serve',
        '--port',
        '0',
        '--model',
        'models:/bank/1',
        '--canary',
        'models:/bank/1',
        '--canary-percent',
        '100',
      ],
      { cwd },
    );
    const [, url] = (await server.waitFor(/keel serving on (http:\/\/\S+)/)) as RegExpExecArray;
    const row = {
      columns: BANK_COLUMNS.filter((c) => c !== 'y'),
      data: [
        [
          41,
          'technician',
          'single',
          'tertiary',
          'no',
          1200,
          'no',
          'no',
          'cellular',
          12,
          'oct',
          600,
          1,
          -1,
          0,
          'unknown',
        ],
      ],
    };
    for (let batch = 0; batch < 20; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 50 }, () =>
          fetch(`${url}/invocations`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ dataframe_split: row }),
          }),
        ),
      );
      expect(answers.every((a) => a.status === 200)).toBe(true);
      await Promise.all(answers.map((a) => a.arrayBuffer()));
    }
    expect(await server.stop()).toBe(0);
    server = undefined;
    const db = new Database(join(cwd, '.keel', 'keel.db'));
    db.prepare(
      "UPDATE model_versions SET stage_since = stage_since - 8 * 86400000 WHERE name = 'bank'",
    ).run();
    db.close();
  });

  it('promotes to Production through every default gate once a second person approves', async () => {
    const pending = await json<{ status: string; request_id: number; gates: Gate[] }>([
      'models',
      'promote',
      'bank',
      '1',
      '--to',
      'Production',
    ]);
    expect(pending.status).toBe('pending_approval');
    expect(pending.gates.every((g) => g.passed)).toBe(true);
    const { token } = await json<{ token: string }>([
      'tokens',
      'create',
      '--user',
      'bob',
      '--role',
      'approver',
    ]);
    const approved = await run(['models', 'approve', String(pending.request_id)], { KEEL_TOKEN: token });
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toContain('bank version 1: Staging -> Production');
    const shown = await run(['models', 'show', 'bank']);
    expect(shown.stdout).toMatch(/@champion -> 1/);
  });

  it('serves the champion and scores the newer semicolon file in batch', async () => {
    const scored = await json<{ rows: number }>([
      'score',
      '--model',
      'models:/bank@champion',
      '--data',
      'bank-new.csv',
      '--out',
      'scores.parquet',
      '--keep',
      'y',
    ]);
    expect(scored.rows).toBe(1500);
    const shown = await json<{ rows: number; columns: Array<{ name: string }> }>(['show', 'scores.parquet']);
    expect(shown.rows).toBe(1500);
    expect(shown.columns.map((c) => c.name)).toEqual(['y', 'score', 'model_name', 'model_version']);

    server = startKeel(['serve', '--port', '0', '--model', 'models:/bank@champion'], { cwd });
    const [, url] = (await server.waitFor(/keel serving on (http:\/\/\S+)/)) as RegExpExecArray;
    const res = await fetch(`${url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: 'age,job,marital,education,default,balance,housing,loan,contact,day,month,duration,campaign,pdays,previous,poutcome\n41,technician,single,tertiary,no,1200,no,no,cellular,12,oct,900,1,-1,0,success\n',
    });
    expect(res.status).toBe(200);
    const { predictions } = (await res.json()) as { predictions: number[] };
    expect(predictions[0]).toBeGreaterThan(0.5);
    expect(await server.stop()).toBe(0);
    // keel serve keeps its logs at the configured level (warn): no line per request.
    expect(server.output().stderr).not.toContain('request completed');
    server = undefined;
  });
});
