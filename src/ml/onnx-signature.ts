/**
 * @module ml/onnx-signature
 * Reads what an ONNX file promises, without running it: its inputs and outputs (names, element
 * types, shapes), opsets, producer and metadata. Any ONNX model works, not only Keel's, and a
 * file that is not one is refused with a message naming it.
 */
import { readFileSync } from 'node:fs';
import { KeelError } from '../core/index.js';
import { ELEM_TYPES, onnx, type ValueInfoProto } from './onnx-proto.js';

export interface TensorSignature {
  name: string;
  /** `float`, `int64`, ... or `non-tensor` for maps and sequences. */
  type: string;
  /** Fixed sizes as numbers, symbolic ones as their names, unknown ones as null. */
  shape: Array<number | string | null> | null;
}

export interface OnnxSignature {
  irVersion: number;
  producer: string;
  opsets: Array<{ domain: string; version: number }>;
  inputs: TensorSignature[];
  outputs: TensorSignature[];
  metadata: Record<string, string>;
}

const toNumber = (v: unknown): number => (typeof v === 'number' ? v : Number(String(v)));

function tensorSignature(info: ValueInfoProto): TensorSignature {
  const tensor = info.type?.tensorType;
  if (!tensor) return { name: info.name ?? '', type: 'non-tensor', shape: null };
  const dims = tensor.shape?.dim;
  return {
    name: info.name ?? '',
    type: ELEM_TYPES[tensor.elemType ?? 0] ?? `type ${tensor.elemType}`,
    shape: dims
      ? dims.map((d) =>
          d.dimParam
            ? d.dimParam
            : d.dimValue !== undefined && d.dimValue !== null
              ? toNumber(d.dimValue)
              : null,
        )
      : null,
  };
}

/**
 * The signature of an ONNX model given as bytes or a file path.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST when the path cannot be read.
 * @throws KeelError INVALID_PARAMETER_VALUE when the bytes are not a valid ONNX model (naming why).
 */
export function readOnnxSignature(source: string | Uint8Array): OnnxSignature {
  const what = typeof source === 'string' ? `'${source}'` : 'the given bytes';
  let bytes: Uint8Array;
  if (typeof source === 'string') {
    try {
      bytes = readFileSync(source);
    } catch (cause) {
      throw new KeelError('RESOURCE_DOES_NOT_EXIST', `cannot read ONNX file ${what}`, { cause });
    }
  } else bytes = source;
  const bad = (why: string, cause?: unknown): KeelError =>
    new KeelError('INVALID_PARAMETER_VALUE', `${what} is not a valid ONNX model: ${why}`, { cause });
  let model: ReturnType<typeof onnx.ModelProto.decode>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (cause) {
    throw bad(`protobuf decoding failed (${cause instanceof Error ? cause.message : String(cause)})`, cause);
  }
  const irVersion = toNumber(model.irVersion);
  if (!(irVersion >= 1 && irVersion <= 100)) throw bad(`ir_version is ${irVersion}`);
  if (!model.opsetImport?.length) throw bad('it declares no opset');
  const graph = model.graph;
  if (!graph?.node?.length) throw bad('it has no graph nodes');
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  // Older exporters list initializers among the inputs; they are not inputs a caller feeds.
  const inputs = (graph.input ?? []).filter((i) => !initializers.has(i.name ?? '')).map(tensorSignature);
  const outputs = (graph.output ?? []).map(tensorSignature);
  if (inputs.length === 0 || outputs.length === 0) throw bad('its graph has no inputs or no outputs');
  return {
    irVersion,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    opsets: model.opsetImport.map((o) => ({ domain: o.domain ?? '', version: toNumber(o.version) })),
    inputs,
    outputs,
    metadata: Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? ''])),
  };
}
