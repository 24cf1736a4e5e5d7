/**
 * `keel models quantize` as a user runs it (issue 19, item 3): an FP32 MLP registered from its
 * run becomes an INT8 version measured on the evaluation data the run names, and the evidence it
 * stores is what a Staging gate reads; a tree ensemble is refused (trees stay FP32).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/core/index.js';
import { exportOnnx, type FeatureMatrix, Rng, scoreOnnx, trainGbdt } from '../../../src/ml/index.js';
import { Registry } from '../../../src/registry/index.js';
import { ServingModel } from '../../../src/serving/index.js';
import { keel } from '../../helpers/cli.js';
import { mlpModelBytes } from '../../helpers/onnx.js';
import { tempDir } from '../../helpers/temp.js';
import { synthetic } from '../../ml/synthetic.js';

const F = 24;
const ROWS = 1500;
const POLICY = `governance:
  stages:
    Staging:
      gates:
        - { kind: metric, metric: quantization_max_score_diff, op: '<=', value: 0.05 }
        - { kind: metric, metric: quantization_roc_auc_delta, op: '>=', value: -0.01 }
`;

describe('keel models quantize', () => {
  const cwd = tempDir();
  const refs = Array.from({ length: F }, (_, j) => `stats:x${j}`);
  let readerToken: string;

  beforeAll(async () => {
    writeFileSync(join(cwd, 'keel.yaml'), POLICY);
    const dir = tempDir();
    const modelFile = join(dir, 'model.onnx');
    const fp32 = mlpModelBytes({ inputs: F, hidden: 96, seed: 3 });
    writeFileSync(modelFile, fp32);
    // Evaluation rows labelled from the FP32 model's own probabilities.
    const rng = new Rng(4);
    const x: FeatureMatrix = {
      names: Array.from({ length: F }, (_, j) => `x${j}`),
      columns: Array.from({ length: F }, () => Float64Array.from({ length: ROWS }, () => rng.next() * 4 - 2)),
    };
    const p = await scoreOnnx(fp32, x);
    const lines = [[...x.names, 'label'].join(',')];
    for (let i = 0; i < ROWS; i++)
      lines.push([...x.columns.map((c) => c[i]), rng.next() < p[i] ? 1 : 0].join(','));
    const evalFile = join(dir, 'eval.csv');
    writeFileSync(evalFile, `${lines.join('\n')}\n`);

    // Set-up through the library, to keep the child processes to the commands under test.
    const registry = await Registry.open(loadConfig({ cwd, env: {} }));
    const run = await registry.tracking.runs.create({ experimentId: '0', tags: [] });
    const runId = run.info.run_id;
    await registry.tracking.runs.logInputs(runId, [
      {
        tags: [{ key: 'mlflow.data.context', value: 'evaluation' }],
        dataset: { name: 'eval.csv', digest: 'e1', source_type: 'local', source: evalFile },
      },
    ]);
    await registry.tracking.logArtifact(runId, modelFile, 'model');
    await registry.models.create('mlp');
    await registry.versions.create({ name: 'mlp', source: `runs:/${runId}/model`, runId, features: refs });
    const data = synthetic(300, 1);
    const treeFile = join(dir, 'trees.onnx');
    writeFileSync(treeFile, exportOnnx(trainGbdt(data.x, data.y, { iterations: 5, maxLeaves: 4, seed: 1 })));
    await registry.models.create('bare');
    await registry.versions.create({ name: 'bare', source: modelFile });
    await registry.models.create('trees');
    await registry.versions.create({ name: 'trees', source: treeFile });
    readerToken = (await registry.tokens.create('rita', 'reader')).token;
    await registry.close();
  });

  it('registers an INT8 version measured on the run’s evaluation data, and its evidence passes the Staging gates', async () => {
    const res = await keel(['models', 'quantize', 'mlp', '1', '--target', 'label', '--json'], { cwd });
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({
      name: 'mlp',
      from_version: '1',
      version: '2',
      method: 'int8-dynamic',
      reduce_range: true,
      quantized_nodes: 2,
      int8_weights: F * 96 + 96,
      evaluation: { data_from: 'evaluation', rows: ROWS, task: 'binary' },
    });
    expect(out.int8_bytes).toBeLessThan(out.fp32_bytes * 0.4);
    expect(out.size_ratio).toBeCloseTo(out.int8_bytes / out.fp32_bytes, 10);
    expect(out.evaluation.max_score_diff).toBeGreaterThan(0);
    expect(out.evaluation.max_score_diff).toBeLessThan(0.05);
    expect(out.evaluation.label_agreement).toBeGreaterThan(0.97);
    const aucDelta = out.evaluation.int8.roc_auc - out.evaluation.fp32.roc_auc;
    expect(out.metrics.quantization_roc_auc_delta).toBeCloseTo(aucDelta, 12);
    expect(Math.abs(aucDelta)).toBeLessThan(0.01);

    // The evidence lives where gates read it: the new version's run, a child of the FP32 one's.
    const registry = await Registry.open(loadConfig({ cwd, env: {} }));
    try {
      const v2 = await registry.versions.get('mlp', 2);
      expect(v2.run_id).toBe(out.run_id);
      expect(Object.fromEntries(v2.tags.map((t) => [t.key, t.value]))).toMatchObject({
        'keel.quantized_from': '1',
        'keel.quantization': 'int8-dynamic',
      });
      const { package: pkg } = await registry.resolveModelUri('models:/mlp/2');
      expect(pkg.features).toEqual(refs);
      const run = await registry.tracking.runs.get(out.run_id);
      const metrics = Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value]));
      expect(metrics.quantization_max_score_diff).toBe(out.evaluation.max_score_diff);
      expect(metrics.roc_auc).toBe(out.evaluation.int8.roc_auc);
      expect(metrics.quantization_int8_bytes).toBe(out.int8_bytes);
      // The INT8 version serves: scores of a row within the stated tolerance of the FP32 version's.
      const row = Float32Array.from({ length: F }, (_, j) => Math.cos(j));
      const scores: number[] = [];
      for (const uri of ['models:/mlp/1', 'models:/mlp/2']) {
        const served = await ServingModel.load(registry, uri);
        scores.push((await served.score(row, 1))[0]);
        await served.release();
      }
      expect(Math.abs(scores[0] - scores[1])).toBeLessThan(0.05);
    } finally {
      await registry.close();
    }

    // The FP32 version has no such evidence: the same gates refuse it, and pass the INT8 one.
    const refused = await keel(['models', 'promote', 'mlp', '1', '--to', 'Staging'], { cwd });
    expect(refused.code).toBe(7);
    expect(refused.stderr).toMatch(/has no metric 'quantization_max_score_diff'/);
    const promoted = await keel(['models', 'promote', 'mlp', '2', '--to', 'Staging', '--json'], { cwd });
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(JSON.parse(promoted.stdout).gates).toEqual([
      expect.objectContaining({
        passed: true,
        evidence: expect.objectContaining({ value: out.evaluation.max_score_diff }),
      }),
      expect.objectContaining({ passed: true }),
    ]);

    // 8-bit weights on request (for CPUs with VNNI): recorded as such.
    const full = await keel(
      ['models', 'quantize', 'mlp', '1', '--target', 'label', '--full-range', '--json'],
      {
        cwd,
      },
    );
    expect(full.code, full.stderr).toBe(0);
    expect(JSON.parse(full.stdout)).toMatchObject({ from_version: '1', version: '3', reduce_range: false });
  });

  it('refuses a tree ensemble (trees stay FP32), an INT8 version, a reader, and a version with no data to measure on', async () => {
    const trees = await keel(['models', 'quantize', 'trees', '1'], { cwd });
    expect(trees.code).toBe(7);
    expect(trees.stderr).toMatch(/tree ensemble \(TreeEnsemble\w+\): trees stay FP32/);
    const again = await keel(['models', 'quantize', 'mlp', '2', '--target', 'label'], { cwd });
    // Version 2 is already INT8: nothing left on constant float weights to quantize.
    expect(again.code).toBe(7);
    expect(again.stderr).toMatch(/nothing to quantize/);
    const reader = await keel(['models', 'quantize', 'mlp', '1', '--target', 'label'], {
      cwd,
      env: { KEEL_TOKEN: readerToken },
    });
    expect(reader.code).toBe(5);
    expect(reader.stderr).toMatch(/register a quantized version of 'mlp'/);
    const bare = await keel(['models', 'quantize', 'bare', '1', '--target', 'label'], { cwd });
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(
      /has no run naming evaluation or training data found here: give a labelled file \(--data <file>\)/,
    );
  });
});
