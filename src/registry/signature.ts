/**
 * @module registry/signature
 * Reads a model's signature from the ONNX file itself with ONNX Runtime, so a model exported from
 * sklearn, xgboost or PyTorch registers with no hand-written schema. Loading the file is also the
 * validity check: what ONNX Runtime cannot load is not a model Keel can serve.
 */
import { type OnnxSession, openOnnxSession } from '../ml/index.js';
import type { Signature, TensorSpec } from './types.js';

function specsOf(metadata: OnnxSession['inputMetadata']): TensorSpec[] {
  return metadata.map((m) =>
    m.isTensor
      ? { name: m.name, type: String(m.type), shape: [...m.shape] }
      : { name: m.name, type: 'non-tensor', shape: [] },
  );
}

/**
 * The input and output names, element types and shapes of an ONNX model.
 * @throws KeelError INVALID_PARAMETER_VALUE naming the file when it is not a valid ONNX model.
 */
export async function readSignature(path: string): Promise<Signature> {
  const session = await openOnnxSession(path);
  try {
    return { inputs: specsOf(session.inputMetadata), outputs: specsOf(session.outputMetadata) };
  } finally {
    await session.release();
  }
}
