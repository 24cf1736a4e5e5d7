/**
 * @module ml/onnx-quantize
 * FP32 -> INT8 dynamic quantization of an ONNX graph, by ONNX Runtime's rules for dynamic
 * quantization (`quantize_dynamic`, IntegerOps format):
 *
 * - Every MatMul whose second input is a constant float matrix [K, N] (an initializer that is not
 *   also a graph input) is rewritten as `DynamicQuantizeLinear(A) -> MatMulInteger(A_q, B_q,
 *   A_zp, B_zp) -> Cast(float) -> Mul(A_scale * B_scale)`. ONNX Runtime fuses the four back into
 *   one `DynamicQuantizeMatMul` kernel when the session's graph optimizations are on.
 * - Weights are int8, symmetric (zero point 0), per tensor by default or per output column
 *   (`perChannel`), in 7 bits by default (values -64..64, scale max|w| / 64: ORT's
 *   `reduce_range`). ONNX Runtime's uint8 x int8 kernel on x86 CPUs without VNNI (AVX2 only, as
 *   AMD EPYC before Zen 4) adds pairs of products in 16 bits, which saturate with 8-bit weights
 *   (255 * 127 * 2 > 32,767): there, a model with 8-bit weights scored up to 0.17 off its FP32
 *   scores, where 7 bits stay within 0.02. A quantized model's accuracy, measured once as
 *   evidence for the gates, must hold on whatever CPU serves it, so 7 bits are the default;
 *   `reduceRange: false` (8 bits, scale max|w| / 127, as ORT's `WeightSymmetric` for QInt8) is
 *   for CPUs known to have VNNI or to be ARM. Activations are quantized at run time to uint8 by
 *   `DynamicQuantizeLinear`, one scale per call.
 * - Unlike ORT's dynamic mode, which leaves Gemm in FP32, a Gemm with a constant B and no
 *   transposed A is rewritten the same way (B transposed first when `transB`, `alpha` folded into
 *   the weight scale, `beta * C` added after): PyTorch exports `nn.Linear` as Gemm, so an MLP from
 *   PyTorch would otherwise not be quantized at all.
 * - Tree ensembles (ai.onnx.ml TreeEnsemble*) stay FP32: their thresholds are compared, not
 *   multiplied, and Keel refuses to quantize them rather than return the same model.
 *
 * Everything else in the graph (Add, Relu, Sigmoid, the classifier tail, metadata) is kept.
 */
import { KeelError } from '../core/index.js';
import { node } from './onnx-graph.js';
import { attr, FLOAT, type ModelProto, type NodeProto, onnx, type TensorProto } from './onnx-proto.js';

const INT8 = 3;
/** DynamicQuantizeLinear is in the default domain from opset 11. */
const MIN_OPSET = 11;
/** Tree ensembles of ai.onnx.ml: decisions on thresholds, which int8 would move. */
const TREE_OPS = /^TreeEnsemble/;

export interface QuantizeOptions {
  /** One scale per output column of each weight matrix instead of one per matrix. */
  perChannel?: boolean;
  /**
   * Weights in 7 bits (default true), so ONNX Runtime's kernels cannot saturate on CPUs without
   * VNNI; false: 8 bits, for CPUs known to have VNNI (see the module comment).
   */
  reduceRange?: boolean;
}

export interface QuantizedNode {
  /** The MatMul or Gemm node rewritten. */
  node: string;
  opType: string;
  /** The weight initializer now stored as int8. */
  weight: string;
  shape: [number, number];
}

export interface QuantizeResult {
  /** The quantized model, serialised. */
  bytes: Uint8Array;
  nodes: QuantizedNode[];
  /** Size of the FP32 and the INT8 model, in bytes. */
  fp32Bytes: number;
  int8Bytes: number;
  /** Weights now held as int8. */
  weights: number;
  perChannel: boolean;
  reduceRange: boolean;
}

/** The metadata key Keel sets on a quantized model. */
export const META_QUANTIZATION = 'keel.quantization';

const refuse = (message: string) => new KeelError('FAILED_PRECONDITION', message);

/** A float initializer's values, from `floatData` or little-endian `rawData`. */
function floatValues(t: TensorProto): Float32Array | undefined {
  if (t.dataType !== FLOAT || t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) return undefined;
  if (t.rawData && t.rawData.length > 0) {
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    return Float32Array.from({ length: t.rawData.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
  }
  return Float32Array.from(t.floatData ?? []);
}

/** Rounds half to even, as numpy's `rint` in ORT's quantizer. */
function rint(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Symmetric int8 quantization of a row-major [K, N] matrix into -`max`..`max`: scales per column
 * or one for all.
 */
function quantizeWeights(
  w: Float32Array,
  k: number,
  n: number,
  perChannel: boolean,
  max: number,
): { q: Int8Array; scales: number[] } {
  const groups = perChannel ? n : 1;
  const absMax = new Float64Array(groups);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < n; j++) {
      const g = perChannel ? j : 0;
      absMax[g] = Math.max(absMax[g], Math.abs(w[i * n + j]));
    }
  // An all-zero weight gets scale 1 (as ORT): every value quantizes to 0 either way.
  const scales = Array.from(absMax, (m) => (m > 0 ? Math.fround(m / max) : 1));
  const q = new Int8Array(k * n);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < n; j++) {
      const s = scales[perChannel ? j : 0];
      q[i * n + j] = Math.max(-max, Math.min(max, rint(w[i * n + j] / s)));
    }
  return { q, scales };
}

function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = w[i * cols + j];
  return t;
}

const attrOf = (n: NodeProto, name: string) => n.attribute?.find((a) => a.name === name);
const intAttr = (n: NodeProto, name: string, fallback: number) => {
  const a = attrOf(n, name);
  return a?.i === undefined || a.i === null ? fallback : Number(a.i);
};
const floatAttr = (n: NodeProto, name: string, fallback: number) => {
  const a = attrOf(n, name);
  return a?.f === undefined || a.f === null ? fallback : a.f;
};

/**
 * Quantizes the MatMul and Gemm weights of an ONNX model to int8 (see the module comment).
 * @throws KeelError INVALID_PARAMETER_VALUE for bytes that are not an ONNX model;
 *   FAILED_PRECONDITION for a tree ensemble (trees stay FP32), an opset below 11, or a model with
 *   no MatMul or Gemm on constant float weights.
 */
export function quantizeDynamic(source: Uint8Array, options: QuantizeOptions = {}): QuantizeResult {
  const perChannel = options.perChannel ?? false;
  const reduceRange = options.reduceRange ?? true;
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(source);
  } catch (cause) {
    throw new KeelError('INVALID_PARAMETER_VALUE', 'the model is not a valid ONNX model', { cause });
  }
  const graph = model.graph ?? {};
  const nodes = graph.node ?? [];
  const tree = nodes.find((n) => TREE_OPS.test(n.opType ?? ''));
  if (tree)
    throw refuse(
      `the model is a tree ensemble (${tree.opType}): trees stay FP32. INT8 dynamic quantization applies to models made of MatMul/Gemm (linear models and MLPs)`,
    );
  const opset = Number((model.opsetImport ?? []).find((o) => !o.domain)?.version ?? 0);
  if (opset < MIN_OPSET)
    throw refuse(
      `the model's ONNX opset is ${opset}; INT8 dynamic quantization needs opset ${MIN_OPSET} or later (DynamicQuantizeLinear): export it again with a newer opset`,
    );

  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  // An initializer that is also a graph input can be overridden at run time: not a constant.
  const inputs = new Set((graph.input ?? []).map((i) => i.name ?? ''));
  const constant = (name: string) => (inputs.has(name) ? undefined : initializers.get(name));
  const added: TensorProto[] = [];
  const activations = new Map<string, [string, string, string]>();
  const weights = new Map<string, { q: string; scale: string; zero: string }>();
  const quantized: QuantizedNode[] = [];
  let int8Weights = 0;
  const out: NodeProto[] = [];
  // New tensors get names no tensor of the graph has: `${name}`, else `${name}_1`, ...
  const taken = new Set<string>([
    ...initializers.keys(),
    ...inputs,
    ...(graph.output ?? []).map((o) => o.name ?? ''),
    ...nodes.flatMap((n) => n.output ?? []),
  ]);
  const fresh = (name: string): string => {
    let candidate = name;
    for (let i = 1; taken.has(candidate); i++) candidate = `${name}_${i}`;
    taken.add(candidate);
    return candidate;
  };

  /** The dynamically quantized A (shared by every node that reads it). */
  const quantizeActivation = (a: string): [string, string, string] => {
    let q = activations.get(a);
    if (!q) {
      q = [fresh(`${a}_quantized`), fresh(`${a}_scale`), fresh(`${a}_zero_point`)];
      activations.set(a, q);
      out.push(node('DynamicQuantizeLinear', [a], q));
    }
    return q;
  };

  for (const n of nodes) {
    const op = n.opType ?? '';
    const [a, b, c] = n.input ?? [];
    const isGemm = op === 'Gemm' && intAttr(n, 'transA', 0) === 0;
    const t = (op === 'MatMul' || isGemm) && !n.domain ? constant(b ?? '') : undefined;
    const values = t ? floatValues(t) : undefined;
    const dims = (t?.dims ?? []).map(Number);
    if (!t || !values || dims.length !== 2 || values.length !== dims[0] * dims[1]) {
      out.push(n);
      continue;
    }
    const transB = isGemm && intAttr(n, 'transB', 0) === 1;
    const alpha = isGemm ? floatAttr(n, 'alpha', 1) : 1;
    const beta = isGemm ? floatAttr(n, 'beta', 1) : 1;
    const [k, cols] = transB ? [dims[1], dims[0]] : [dims[0], dims[1]];
    const key = `${b}|${transB}|${alpha}`;
    let w = weights.get(key);
    if (!w) {
      const { q, scales } = quantizeWeights(
        transB ? transpose(values, dims[0], dims[1]) : values,
        k,
        cols,
        perChannel,
        reduceRange ? 64 : 127,
      );
      const base = `${b}${transB ? '_T' : ''}`;
      w = { q: fresh(`${base}_quantized`), scale: fresh(`${base}_scale`), zero: fresh(`${base}_zero_point`) };
      const shape = perChannel ? [cols] : [];
      added.push(
        { name: w.q, dataType: INT8, dims: [k, cols], rawData: new Uint8Array(q.buffer) },
        { name: w.scale, dataType: FLOAT, dims: shape, floatData: scales.map((s) => Math.fround(s * alpha)) },
        { name: w.zero, dataType: INT8, dims: shape, rawData: new Uint8Array(scales.length) },
      );
      weights.set(key, w);
      int8Weights += k * cols;
    }
    const [aq, aScale, aZero] = quantizeActivation(a);
    const y = (n.output ?? [])[0];
    const stem = `${n.name || y}_quant`;
    const [int32, float, scale] = [fresh(`${stem}_int32`), fresh(`${stem}_float`), fresh(`${stem}_scale`)];
    const product = c && isGemm ? fresh(`${stem}_product`) : y;
    out.push(
      node('MatMulInteger', [aq, w.q, aZero, w.zero], [int32]),
      node('Cast', [int32], [float], [attr('to', FLOAT, 'int')]),
      node('Mul', [aScale, w.scale], [scale]),
      node('Mul', [float, scale], [product]),
    );
    if (c && isGemm) {
      let bias = c;
      if (beta !== 1) {
        const [betaName, scaled] = [fresh(`${stem}_beta`), fresh(`${stem}_bias`)];
        added.push({ name: betaName, dataType: FLOAT, dims: [], floatData: [beta] });
        out.push(node('Mul', [c, betaName], [scaled]));
        bias = scaled;
      }
      out.push(node('Add', [product, bias], [y]));
    }
    quantized.push({ node: n.name || y, opType: op, weight: b, shape: [k, cols] });
  }
  if (quantized.length === 0)
    throw refuse(
      `the model has no MatMul or Gemm on constant float weights (ops: ${[...new Set(nodes.map((n) => n.opType))].join(', ')}): nothing to quantize to INT8`,
    );

  // A quantized weight's FP32 copy goes unless a node still reads it (or the graph outputs it);
  // every other initializer stays, also those only a subgraph reads.
  const replaced = new Set(quantized.map((q) => q.weight));
  const used = new Set([
    ...out.flatMap((n) => n.input ?? []),
    ...(graph.output ?? []).map((o) => o.name ?? ''),
  ]);
  const kept = (graph.initializer ?? []).filter((i) => !replaced.has(i.name ?? '') || used.has(i.name ?? ''));
  const metadata = (model.metadataProps ?? []).filter((p) => p.key !== META_QUANTIZATION);
  metadata.push({
    key: META_QUANTIZATION,
    value: JSON.stringify({
      method: 'int8-dynamic',
      per_channel: perChannel,
      reduce_range: reduceRange,
      nodes: quantized.length,
    }),
  });
  const bytes = onnx.ModelProto.encode(
    onnx.ModelProto.create({
      ...model,
      metadataProps: metadata,
      graph: { ...graph, node: out, initializer: [...kept, ...added] },
    }),
  ).finish();
  return {
    bytes,
    nodes: quantized,
    fp32Bytes: source.byteLength,
    int8Bytes: bytes.byteLength,
    weights: int8Weights,
    perChannel,
    reduceRange,
  };
}
