/**
 * INT8 dynamic quantization (issue 19, item 3): an MLP built here with Keel's ONNX builders is
 * quantized in TypeScript, runs in ONNX Runtime, is smaller, and scores within a stated tolerance
 * of its FP32 self; trees are refused (they stay FP32).
 */
import { describe, expect, it } from 'vitest';
import {
  exportOnnx,
  type FeatureMatrix,
  META_QUANTIZATION,
  onnx,
  quantizeDynamic,
  Rng,
  rocAuc,
  scoreOnnx,
  trainGbdt,
} from '../../src/ml/index.js';
import { node } from '../../src/ml/onnx-graph.js';
import { attr, FLOAT, tensorInfo } from '../../src/ml/onnx-proto.js';
import { logisticModelBytes, mlpModelBytes } from '../helpers/onnx.js';
import { synthetic } from './synthetic.js';

const F = 64;
const H = 128;
/** Largest change of a probability INT8 may make on these rows (stated tolerance). */
const MAX_SCORE_DIFF = 0.02;
/** Largest change of ROC AUC against labels drawn from the FP32 model's own probabilities. */
const MAX_AUC_DELTA = 0.01;

function rows(n: number, seed: number): FeatureMatrix {
  const rng = new Rng(seed);
  return {
    names: Array.from({ length: F }, (_, j) => `x${j}`),
    columns: Array.from({ length: F }, () => Float64Array.from({ length: n }, () => rng.next() * 4 - 2)),
  };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

const opTypes = (bytes: Uint8Array) => (onnx.ModelProto.decode(bytes).graph?.node ?? []).map((n) => n.opType);

describe('quantizeDynamic', () => {
  const x = rows(2000, 5);

  it.each([
    ['MatMul + Add layers, per tensor', { gemm: false, raw: false }, false],
    ['MatMul + Add layers, per channel', { gemm: false, raw: false }, true],
    ['Gemm layers with raw weights (as PyTorch exports nn.Linear)', { gemm: true, raw: true }, false],
    ['Gemm layers with raw weights, per channel', { gemm: true, raw: true }, true],
    ['MatMul + Add layers ending as skl2onnx ends an MLPClassifier (ZipMap)', { sklearn: true }, false],
  ])(
    '%s: the INT8 model runs in ONNX Runtime, is smaller, and scores within tolerance',
    async (_, layout, perChannel) => {
      const fp32 = mlpModelBytes({ inputs: F, hidden: H, seed: 11, ...layout });
      const q = quantizeDynamic(fp32, { perChannel });

      expect(q.nodes.map((n) => n.shape)).toEqual([
        [F, H],
        [H, 1],
      ]);
      expect(q.weights).toBe(F * H + H);
      const ops = opTypes(q.bytes);
      expect(ops).not.toContain('MatMul');
      expect(ops).not.toContain('Gemm');
      expect(ops.filter((o) => o === 'MatMulInteger')).toHaveLength(2);
      expect(ops.filter((o) => o === 'DynamicQuantizeLinear')).toHaveLength(2);
      // No FP32 copy of a quantized weight is left in the model.
      const initializers = onnx.ModelProto.decode(q.bytes).graph?.initializer ?? [];
      expect(initializers.map((t) => t.name)).not.toContain('W1');
      expect(
        initializers.find((t) => t.name?.startsWith('W1') && t.dataType === 3)?.dims?.map(Number),
      ).toEqual([F, H]);

      // Smaller: the weights went from 4 bytes to 1.
      expect(q.fp32Bytes).toBe(fp32.byteLength);
      expect(q.int8Bytes).toBe(q.bytes.byteLength);
      expect(q.int8Bytes).toBeLessThan(fp32.byteLength * 0.35);

      const p32 = await scoreOnnx(fp32, x);
      const p8 = await scoreOnnx(q.bytes, x);
      expect(p8).toHaveLength(x.columns[0].length);
      const diff = maxDiff(p32, p8);
      expect(diff).toBeLessThan(MAX_SCORE_DIFF);
      // Quantization changes the scores (the INT8 path really ran), just not by much.
      expect(diff).toBeGreaterThan(0);
      // Labels drawn from the FP32 probabilities: the ranking quality barely moves.
      const rng = new Rng(9);
      const y = Float64Array.from(p32, (p) => (rng.next() < p ? 1 : 0));
      expect(Math.abs(rocAuc(y, p32) - rocAuc(y, p8))).toBeLessThan(MAX_AUC_DELTA);
    },
  );

  it('folds Gemm alpha into the weight scale and adds beta * C, with no tensor name taken twice', async () => {
    const model = onnx.ModelProto.decode(mlpModelBytes({ inputs: F, hidden: H, seed: 2, gemm: true }));
    const graph = model.graph as NonNullable<typeof model.graph>;
    const gemm = (graph.node ?? [])[0];
    gemm.attribute?.push(attr('alpha', 0.5), attr('beta', 2));
    // A tensor already bearing the name the quantizer would give the quantized input.
    graph.node?.push(node('Identity', ['probability'], ['input_quantized']));
    graph.output?.push(tensorInfo('input_quantized', FLOAT, ['N', 1]));
    const fp32 = onnx.ModelProto.encode(model).finish();
    const q = quantizeDynamic(fp32);
    const names = (onnx.ModelProto.decode(q.bytes).graph?.node ?? []).flatMap((n) => n.output ?? []);
    expect(new Set(names).size).toBe(names.length);
    const p32 = await scoreOnnx(fp32, x);
    const p8 = await scoreOnnx(q.bytes, x);
    expect(maxDiff(p32, p8)).toBeLessThan(MAX_SCORE_DIFF);
    expect(maxDiff(p32, p8)).toBeGreaterThan(0);
  });

  it('records the quantization in the metadata and keeps what was there', () => {
    const q = quantizeDynamic(logisticModelBytes([0.5, -1, 2, 0.25]), { perChannel: true });
    const meta = Object.fromEntries(
      (onnx.ModelProto.decode(q.bytes).metadataProps ?? []).map((p) => [p.key, p.value]),
    );
    expect(JSON.parse(meta[META_QUANTIZATION] ?? '{}')).toEqual({
      method: 'int8-dynamic',
      per_channel: true,
      reduce_range: true,
      nodes: 1,
    });
  });

  it('stores weights in 7 bits unless told the CPU has VNNI, with scales to match', () => {
    const weights = [0.5, -1, 2, 0.25];
    const int8 = (bytes: Uint8Array) => {
      const inits = onnx.ModelProto.decode(bytes).graph?.initializer ?? [];
      const q = inits.find((t) => t.name?.endsWith('_quantized'));
      const scale = inits.find((t) => t.name?.endsWith('_scale'));
      return {
        q: [...new Int8Array(Uint8Array.from(q?.rawData ?? []).buffer)],
        scale: scale?.floatData?.[0],
      };
    };
    // max |w| = 2 maps to 64 in 7 bits, 127 in 8; the other weights by rounding half to even.
    expect(int8(quantizeDynamic(logisticModelBytes(weights)).bytes)).toEqual({
      q: [16, -32, 64, 8],
      scale: Math.fround(2 / 64),
    });
    const full = quantizeDynamic(logisticModelBytes(weights), { reduceRange: false });
    expect(full.reduceRange).toBe(false);
    expect(int8(full.bytes)).toEqual({ q: [32, -64, 127, 16], scale: Math.fround(2 / 127) });
  });

  it('refuses a tree ensemble: trees stay FP32', () => {
    const data = synthetic(300, 1);
    const model = trainGbdt(data.x, data.y, { iterations: 5, maxLeaves: 4, seed: 1 });
    expect(() => quantizeDynamic(exportOnnx(model))).toThrow(
      expect.objectContaining({
        code: 'FAILED_PRECONDITION',
        message: expect.stringMatching(/tree ensemble \(TreeEnsemble\w+\): trees stay FP32/),
      }),
    );
  });

  it('refuses a model with nothing to quantize, an opset before DynamicQuantizeLinear, and bytes that are not ONNX', () => {
    const noWeights = mlpModelBytes({ inputs: 2, hidden: 2 });
    const decoded = onnx.ModelProto.decode(noWeights);
    // Weights fed as a graph input are not constants: nothing can be quantized ahead of time.
    decoded.graph?.input?.push(...(decoded.graph.initializer ?? []).map((t) => ({ name: t.name })));
    const overridable = onnx.ModelProto.encode(decoded).finish();
    expect(() => quantizeDynamic(overridable)).toThrow(/no MatMul or Gemm on constant float weights/);
    const old = onnx.ModelProto.decode(logisticModelBytes([1, 2]));
    old.opsetImport = [{ domain: '', version: 10 }];
    expect(() => quantizeDynamic(onnx.ModelProto.encode(old).finish())).toThrow(
      /opset is 10; INT8 dynamic quantization needs opset 11/,
    );
    expect(() => quantizeDynamic(new Uint8Array([1, 2, 3, 4]))).toThrow(
      expect.objectContaining({ code: 'INVALID_PARAMETER_VALUE' }),
    );
  });
});
