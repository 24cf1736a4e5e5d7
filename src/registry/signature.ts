/**
 * @module registry/signature
 * Reads a model's signature from the ONNX file itself with ONNX Runtime, so a model exported from
 * sklearn, xgboost or PyTorch registers with no hand-written schema. Loading the file is also the
 * validity check: what ONNX Runtime cannot load is not a model Keel can serve.
 */
import { stat } from 'node:fs/promises';
import { KeelError } from '../core/index.js';
import type { Signature, TensorSpec } from './types.js';

type Ort = typeof import('onnxruntime-node');
type Session = import('onnxruntime-node').InferenceSession;

let ort: Promise<Ort> | undefined;
/** onnxruntime-node loads on first use: commands that never touch a model do not pay for it. */
export const loadOrt = (): Promise<Ort> => {
  ort ??= import('onnxruntime-node').then((m) => (m as unknown as { default?: Ort }).default ?? m);
  return ort;
};

/**
 * Opens an ONNX model in ONNX Runtime.
 * @throws KeelError INVALID_PARAMETER_VALUE naming the file when it is missing or not a valid ONNX model.
 */
export async function openOnnxSession(path: string): Promise<Session> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new KeelError('INVALID_PARAMETER_VALUE', `Model file '${path}' does not exist`);
  const { InferenceSession } = await loadOrt();
  try {
    return await InferenceSession.create(path);
  } catch (err) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `'${path}' is not a valid ONNX model: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function specsOf(metadata: Session['inputMetadata']): TensorSpec[] {
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
