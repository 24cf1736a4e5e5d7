/**
 * Foreign ONNX models (issue 15, item 4): the task, the score and the columns are read from the
 * graph as skl2onnx and onnxmltools lay it out (fixtures built with Keel's own ONNX builders in
 * test/helpers/onnx.ts), and ONNX Runtime's scores equal the formula each fixture computes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateModel, modelIo, scoreOnnx } from '../../src/ml/index.js';
import { foreignModels } from '../helpers/onnx.js';
import { tempDir } from '../helpers/temp.js';

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const W = [0.5, -1.25, 2];
const B = 0.1;
const X = [
  [1, 0, 0],
  [0, 1, 0],
  [-1, 0.5, 0.25],
  [0.3, -0.2, -1],
];
const matrix = (rows: number[][]) => ({
  names: ['u', 'v', 'w'],
  columns: [0, 1, 2].map((j) => Float64Array.from(rows, (r) => r[j])),
});
const expected = (rows: number[][]) => rows.map((r) => sigmoid(r[0] * W[0] + r[1] * W[1] + r[2] * W[2] + B));

describe('modelIo reads the task and the score from the graph', () => {
  it('skl2onnx ZipMap classifier: binary, the ZipMap cut off, class 1 column', async () => {
    const bytes = foreignModels.sklearnZipMap(W, B);
    const io = modelIo(bytes);
    expect(io).toMatchObject({
      task: 'binary',
      taskFrom: "ZipMap output 'output_probability'",
      layout: 'matrix',
      inputs: [{ name: 'float_input', type: 'float32' }],
      width: 3,
      output: 'probabilities',
      column: 1,
      classes: ['0', '1'],
      rewritten: true,
    });
    const scores = await scoreOnnx(bytes, matrix(X));
    expected(X).forEach((p, i) => {
      expect(scores[i]).toBeCloseTo(p, 6);
    });
  });

  it('text classes: the positive label picks the column', async () => {
    const bytes = foreignModels.sklearnZipMap(W, B, ['churned', 'stayed']);
    expect(modelIo(bytes).column).toBe(1);
    const io = modelIo(bytes, { positiveLabel: 'churned' });
    expect(io.column).toBe(0);
    const scores = await scoreOnnx(bytes, matrix(X), io);
    expected(X).forEach((p, i) => {
      expect(scores[i]).toBeCloseTo(1 - p, 6);
    });
  });

  it('one input per column (float, double, int64) with label + probabilities [N, 2]', async () => {
    const bytes = foreignModels.perColumnInputs(
      [
        ['u', 'float'],
        ['v', 'double'],
        ['w', 'int64'],
      ],
      W,
      B,
    );
    const io = modelIo(bytes);
    expect(io).toMatchObject({
      task: 'binary',
      taskFrom: "output 'probabilities' [N, 2]",
      layout: 'columns',
      width: 3,
      output: 'probabilities',
      column: 1,
      rewritten: false,
    });
    expect(io.inputs.map((i) => `${i.name}:${i.type}`)).toEqual(['u:float32', 'v:float64', 'w:int64']);
    const rows = [
      [1, 0.5, 2],
      [-2, 0.25, 0],
    ];
    const scores = await scoreOnnx(bytes, matrix(rows), io);
    expected(rows).forEach((p, i) => {
      expect(scores[i]).toBeCloseTo(p, 6);
    });
    await expect(scoreOnnx(bytes, matrix([[1, 2, 0.5]]), io)).rejects.toThrow(
      /row 1: 0\.5 where the model's int64 input needs an integer/,
    );
  });

  it('a [N, 1] output computed by a Sigmoid is a probability; any other float output a value', () => {
    const keras = join(import.meta.dirname, 'fixtures', 'foreign_logistic.onnx');
    expect(modelIo(keras)).toMatchObject({ task: 'binary', output: 'prob', column: 0 });
    expect(modelIo(foreignModels.regressor([1, 2], 3))).toMatchObject({
      task: 'regression',
      taskFrom: "float output 'variable'",
      output: 'variable',
    });
  });

  it('refuses more than two classes and text inputs, saying why', () => {
    expect(() => modelIo(foreignModels.threeClasses())).toThrow(
      /classifier of 3 classes \(0, 1, 2\); Keel scores binary classifiers and regressors/,
    );
    expect(() => modelIo(foreignModels.stringInput())).toThrow(
      /input 'city' is a string tensor; Keel feeds float, double or int64 inputs/,
    );
  });
});

describe('evaluateModel on foreign models', () => {
  const dir = tempDir();
  const data = join(dir, 'd.csv');
  const rows: number[][] = [];
  const lines = ['u,v,w,y'];
  for (let i = 0; i < 40; i++) {
    const r = [(i % 7) - 3, (i % 5) - 2, (i % 3) - 1];
    rows.push(r);
    lines.push(`${r.join(',')},${i % 2}`);
  }
  writeFileSync(data, `${lines.join('\n')}\n`);
  const logLoss =
    expected(rows).reduce((s, p, i) => s - (i % 2 === 1 ? Math.log(p) : Math.log(1 - p)), 0) / 40;

  it('takes a ZipMap classifier as binary and its columns from the file when the width matches', async () => {
    const model = join(dir, 'zipmap.onnx');
    writeFileSync(model, foreignModels.sklearnZipMap(W, B));
    const r = await evaluateModel({ model, data, target: 'y' });
    expect(r.task).toBe('binary');
    expect(r.taskFrom).toBe("ZipMap output 'output_probability'");
    expect(r.features).toEqual(['u', 'v', 'w']);
    expect(r.metrics.log_loss).toBeCloseTo(logLoss, 5);
  });

  it('names the columns by the inputs of a one-input-per-column model, in its order', async () => {
    const model = join(dir, 'columns.onnx');
    // The model's order differs from the file's: w, u, v.
    writeFileSync(
      model,
      foreignModels.perColumnInputs(
        [
          ['w', 'float'],
          ['u', 'float'],
          ['v', 'double'],
        ],
        [W[2], W[0], W[1]],
        B,
      ),
    );
    const r = await evaluateModel({ model, data, target: 'y' });
    expect(r.features).toEqual(['w', 'u', 'v']);
    expect(r.metrics.log_loss).toBeCloseTo(logLoss, 5);
  });

  it('asks for the columns when the file has more than the model takes', async () => {
    const model = join(dir, 'zipmap2.onnx');
    writeFileSync(model, foreignModels.sklearnZipMap([1, 1], 0));
    await expect(evaluateModel({ model, data, target: 'y' })).rejects.toThrow(
      /names no columns \(no 'keel\.feature_names' metadata, one input 'float_input' of 2 values a row\) and '.*d\.csv' has 3 besides the target and sensitive columns \(u, v, w\): name the columns/,
    );
    const r = await evaluateModel({ model, data, target: 'y', features: ['u', 'w'] });
    expect(r.features).toEqual(['u', 'w']);
  });
});
