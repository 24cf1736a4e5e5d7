/**
 * `keel demo --json` in a fresh folder, as a user runs it: the whole churn use case on the real
 * Online Retail data (541,909 rows, shipped with the example), checked against the data README's
 * figures and what the stores hold afterwards.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/index.js';
import { type ChurnDemoResult, formatStep, SERVE_AT } from '../../src/demo/index.js';
import { startServer } from '../../src/server/index.js';
import { LINEAGE_TAGS, Tracking } from '../../src/tracking/index.js';
import { type BackgroundKeel, CLI, keel, runProcess, startProcess } from '../helpers/cli.js';
import { KEEL_MODEL_FILES } from '../helpers/mlflow-client.js';
import { readmeBlocks, shellCommands } from '../helpers/readme.js';
import { tempDir } from '../helpers/tracking.js';

describe('keel demo', () => {
  const cwd = tempDir();
  const config = loadConfig({ cwd, env: {} });
  let result: ChurnDemoResult;

  beforeAll(async () => {
    const res = await keel(['demo', '--json'], { cwd });
    expect(res.code, res.stderr).toBe(0);
    result = JSON.parse(res.stdout);
  }, 120_000);
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('works in the .keel folder of the folder it runs in, and lists the commands to run next', async () => {
    expect(result.home).toBe(join(cwd, '.keel'));
    expect(result.ingest.partition.startsWith(join(cwd, '.keel', 'offline', 'online_retail'))).toBe(true);
    expect(result.next).toEqual(
      expect.arrayContaining([
        'keel runs list --experiment churn',
        'keel models show churn',
        'keel score --model models:/churn/1 --data .keel/demo/test_set.parquet --out scores.parquet --keep customer_id',
        'keel serve --model models:/churn/1 --features-at 2011-12-10T00:00:00Z',
      ]),
    );
  });

  it('ingests every row with the validation figures of the data README', async () => {
    expect(result.ingest).toMatchObject({
      rows: 541_909,
      missingCustomerId: { rows: 135_080 },
      duplicates: { rows: 5_268 },
      checks: { failed: 0 },
    });
    expect(result.ingest.missingCustomerId.share).toBeCloseTo(0.249, 3);
  });

  it('labels churn at each cutoff as the data README counts it, split by time', async () => {
    const byCutoff = Object.fromEntries(result.trainingSet.cutoffs.map((c) => [c.cutoff, c]));
    expect(byCutoff['2011-09-09']).toMatchObject({ split: 'test', customers: 3_370 });
    expect(byCutoff['2011-09-09'].churnRate).toBeCloseTo(0.431, 3);
    expect(byCutoff['2011-06-01']).toMatchObject({ split: 'train', customers: 2_725 });
    expect(byCutoff['2011-06-01'].churnRate).toBeCloseTo(0.51, 2);
    expect(result.trainingSet.cutoffs.filter((c) => c.split === 'test')).toHaveLength(1);
    expect(result.trainingSet.rows.test).toBe(3_370);
  });

  it('trains a model that ranks churners well above chance, with a fairness table by region', async () => {
    expect(result.training.metrics.roc_auc).toBeGreaterThan(0.65);
    expect(result.training.fairness.groups.map((g) => g.group)).toEqual(['UK', 'non-UK']);
    expect(result.training.fairness.groups.reduce((n, g) => n + g.count, 0)).toBe(3_370);
  });

  it('records the run: params, per-iteration losses, datasets with digests, feature views, the model', async () => {
    const tracking = await Tracking.open(config);
    try {
      const run = await tracking.runs.get(result.training.runId);
      const params = Object.fromEntries(run.data.params.map((p) => [p.key, p.value]));
      expect(params).toMatchObject({ model_kind: 'gbdt', target: 'churned', iterations: '150' });
      const losses = await tracking.runs.metricHistory(run.info.run_id, 'train_log_loss');
      expect(losses.items.map((m) => m.step)).toEqual([...Array(result.training.iterations).keys()]);
      const metrics = Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value]));
      expect(metrics.roc_auc).toBe(result.training.metrics.roc_auc);
      expect(metrics['region.disparate_impact_ratio']).toBe(result.training.fairness.disparateImpactRatio);
      expect(run.inputs.dataset_inputs.map((d) => d.dataset.digest)).toEqual(
        expect.arrayContaining([result.ingest.digest, result.trainingSet.digest]),
      );
      expect(run.data.tags).toContainEqual({ key: LINEAGE_TAGS.featureViews, value: 'customer_features@1' });
      // As MLflow logs a model, an MLflow model folder: runs:/<run id>/model names it.
      const files = (await tracking.listArtifacts(run.info.run_id, 'model')).files.map((f) => f.path);
      expect(files).toEqual(KEEL_MODEL_FILES.map((f) => `model/${f}`));
    } finally {
      await tracking.close();
    }
  });

  it('registers the model in Staging with lineage, and Production refuses it naming the failed gates', async () => {
    const r = result.registry;
    expect(r.lineage).toMatchObject({
      run_id: result.training.runId,
      feature_views: ['customer_features@1'],
    });
    expect(r.production.promoted).toBe(false);
    expect(r.production.stageAfter).toBe('Staging');
    expect(r.production.approvalRequired).toBe(true);
    const failed = r.production.gates.filter((g) => !g.passed).map((g) => g.kind);
    expect(failed).toEqual(expect.arrayContaining(['canary', 'lineage']));
    expect(r.production.failed.length).toBe(failed.length);
    expect(r.production.message).toMatch(/failed gates .*'canary/);
    // The metric and bias gates read what the evaluation logged, not a missing metric.
    for (const g of r.production.gates.filter((x) => x.kind === 'metric' || x.kind === 'bias')) {
      expect(g.evidence.value).toEqual(expect.any(Number));
    }
  });

  it('serves the registered model over HTTP as the demo suggests, its features judged as of the demo day', async () => {
    const predict = async (featuresAt?: number) => {
      const server = await startServer(config, { port: 0, models: ['models:/churn/1'], featuresAt });
      try {
        const res = await fetch(`${server.url}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'churn', entities: { customer_id: [17850] } }),
        });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      } finally {
        await server.close();
      }
    };
    const replayed = await predict(Date.parse(SERVE_AT));
    expect(replayed.status).toBe(200);
    const [row] = replayed.body.predictions as Array<{ score: number; missing_features?: object }>;
    expect(row.missing_features).toBeUndefined();
    expect(row.score).toBeCloseTo(result.online.score.online, 6);
    // Judged as of today, the 2011 features are all past their TTL: the default input policy
    // refuses to score a row with nothing in it.
    const today = await predict();
    expect(today.status).toBe(503);
    expect(today.body.message).toMatch(/row 0: every feature is missing .*past their max age/);
  });

  it('serves customer 17850 online with exactly the features it would get offline', async () => {
    const o = result.online;
    expect(o.customerId).toBe(17850);
    expect(o.materializedRows).toBeGreaterThan(4_000);
    expect(o.mismatches).toEqual([]);
    expect(o.online).toEqual(o.offline);
    expect(o.online.total_orders).toBeGreaterThan(0);
    expect(o.score.online).toBe(o.score.offline);
    expect(o.score.online).toBeGreaterThan(0);
    expect(o.score.online).toBeLessThan(1);
  });

  it('tells people what each step did, with the figures', async () => {
    const text = [
      formatStep({ step: 'ingest', result: result.ingest }),
      formatStep({ step: 'features', result: result.features }),
      formatStep({ step: 'training-set', result: result.trainingSet }),
      formatStep({ step: 'train', result: result.training }),
      formatStep({ step: 'registry', result: result.registry }),
      formatStep({ step: 'online', result: result.online }),
    ].join('\n');
    expect(text).toContain('541,909 rows');
    expect(text).toContain('missing CustomerID: 135,080 rows (24.9%)');
    expect(text).toMatch(/2011-09-09 {2}test {3}3,370 customers {2}churn 43\.1%/);
    expect(text).toMatch(/FAIL {2}canary >= 7 days/);
    expect(text).toContain('Production: refused, version stays in Staging');
    expect(text).toContain('online == offline: no training-serving skew');
  });

  // Runs after the checks above: it changes the registry as the README does (versions, Production, aliases).
  it("runs README.md's shell and TypeScript blocks in order against this demo's home", {
    timeout: 600_000,
  }, async () => {
    const bin = join(cwd, '.readme-bin');
    mkdirSync(bin, { recursive: true });
    // `npx keel` resolves to the package's bin, dist/cli/main.js: the test calls it directly.
    writeFileSync(join(bin, 'keel'), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`, {
      mode: 0o755,
    });
    mkdirSync(join(cwd, 'node_modules'), { recursive: true });
    if (!existsSync(join(cwd, 'node_modules', 'keel'))) symlinkSync(REPO, join(cwd, 'node_modules', 'keel'));
    const port = await freePort();
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const values: Record<string, string> = { '<run-id>': result.training.runId };
    const substitute = (command: string) => {
      let line = command
        .replaceAll(/\bnpx keel\b/g, 'keel')
        .replaceAll(/(localhost|127\.0\.0\.1):5000/g, `$1:${port}`);
      for (const [placeholder, value] of Object.entries(values)) line = line.replaceAll(placeholder, value);
      if (/^keel serve\b/.test(line)) {
        line = /--port \d+/.test(line)
          ? line.replace(/--port \d+/, `--port ${port}`)
          : line.replace('keel serve', `keel serve --port ${port}`);
      }
      return line;
    };
    let server: BackgroundKeel | undefined;
    const ran: string[] = [];
    try {
      for (const block of readmeBlocks()) {
        if (block.skip) continue;
        if (block.lang === 'ts') {
          // An ES module, as a project using Keel (ESM only) writes it.
          const file = join(cwd, `readme-${block.line}.mts`);
          writeFileSync(file, block.text);
          const res = await runProcess(process.execPath, [TSX, file], { cwd, env });
          expect(res.code, `README.md:${block.line} (TypeScript)\n${res.stderr}`).toBe(0);
          ran.push(`ts@${block.line}`);
          continue;
        }
        if (block.lang !== 'sh') continue;
        for (const command of shellCommands(block.text)) {
          if (command.needsMlflow) {
            const script = /python (\S+)/.exec(command.text)![1];
            expect(existsSync(join(REPO, script)), `README.md:${block.line}: ${script}`).toBe(true);
            // The MLflow client cannot be installed here; the script must at least be valid Python.
            const parsed = await runProcess(
              'python3',
              ['-c', 'import ast, sys; ast.parse(open(sys.argv[1]).read())', join(REPO, script)],
              { cwd },
            ).catch(() => undefined);
            if (parsed) expect(parsed.code, parsed.stderr).toBe(0);
            continue;
          }
          const line = substitute(command.text);
          if (/^keel serve\b/.test(line)) {
            await server?.stop();
            server = startProcess('bash', ['-c', `exec ${line}`], { cwd, env }, line);
            await server.waitFor(/keel serving on /);
            ran.push(line);
            continue;
          }
          // The server writes its prediction log every second: wait until it holds no buffered row.
          if (server && /^keel predictions\b/.test(line)) await logFlushed(port);
          const res = await runProcess('bash', ['-c', line], { cwd, env });
          const what = `README.md:${block.line}: ${line}\n${res.stdout}\n${res.stderr}`;
          expect(res.code, what).toBe(command.exit);
          if (line.startsWith('curl'))
            expect(res.stdout, what).not.toMatch(/error_code|"statusCode":\s*[45]/);
          if (/keel tokens create --user bob/.test(line)) values["<bob's token>"] = res.stdout.split('\n')[0];
          ran.push(line);
        }
      }
    } finally {
      await server?.stop();
    }
    // What the README shows was run: the governance path, serving and monitoring among it.
    expect(ran).toEqual(
      expect.arrayContaining([
        `keel models register churn runs:/${result.training.runId}/model   # version 2, from the demo's run (or an MLflow model folder, or a .onnx file exported from sklearn, xgboost, PyTorch)`,
        expect.stringMatching(/^KEEL_TOKEN=\S{20,} keel models approve 1/),
        expect.stringMatching(
          /^keel serve --port \d+ --model models:\/churn@champion --canary models:\/churn@challenger/,
        ),
        expect.stringMatching(/^curl -s localhost:\d+\/feedback/),
        'ts@' + readmeBlocks().find((b) => b.lang === 'ts')!.line,
      ]),
    );
  });
  it('runs again on the same data without a second ingest or new feature versions', {
    timeout: 300_000,
  }, async () => {
    const again = await keel(['demo', '--json'], { cwd });
    expect(again.code, again.stderr).toBe(0);
    const second = JSON.parse(again.stdout) as ChurnDemoResult;
    expect(second.ingest.reused?.at).toEqual(expect.any(Number));
    expect(second.ingest.partition).toBe(result.ingest.partition);
    expect(
      readdirSync(join(cwd, '.keel', 'offline', 'online_retail')).filter((f) => f.endsWith('.parquet')),
    ).toHaveLength(1);
    expect(second.features.changes.map((c) => [c.change, c.version])).toEqual(
      result.features.changes.map(() => ['unchanged', 1]),
    );
    // The README registered version 2; this run adds version 3.
    expect(second.registry.version).toBe('3');
    expect(formatStep({ step: 'ingest', result: second.ingest })).toMatch(/rows are reused, nothing written/);
  });
});

const REPO = join(import.meta.dirname, '..', '..');
const TSX = join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves once the server on `port` has written every buffered prediction row; throws after 60 s. */
async function logFlushed(port: number): Promise<void> {
  let metrics = '';
  for (let i = 0; i < 600; i++) {
    metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    if (/^keel_prediction_log_buffered_rows(\{[^}]*\})? 0$/m.test(metrics)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the prediction log still holds buffered rows after 60 s:\n${metrics}`);
}
