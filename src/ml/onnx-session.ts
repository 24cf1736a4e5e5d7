/**
 * @module ml/onnx-session
 * The one place Keel opens ONNX Runtime sessions. onnxruntime-node loads on first use, so commands
 * that never touch a model do not pay for it; a model ONNX Runtime refuses becomes a KeelError
 * naming the file.
 */
import { stat } from 'node:fs/promises';
import { KeelError } from '../core/index.js';

export type Ort = typeof import('onnxruntime-node');
export type OnnxSession = import('onnxruntime-node').InferenceSession;

let ort: Promise<Ort> | undefined;

/** The onnxruntime-node module, imported once. */
export const loadOrt = (): Promise<Ort> => {
  ort ??= import('onnxruntime-node').then((m) => (m as unknown as { default?: Ort }).default ?? m);
  return ort;
};

/**
 * Opens an ONNX model (a file path or its bytes) in ONNX Runtime.
 * @throws KeelError INVALID_PARAMETER_VALUE naming the file when it is missing or not a valid ONNX model.
 */
export async function openOnnxSession(
  model: string | Uint8Array,
  options: { intraOpNumThreads?: number } = {},
): Promise<OnnxSession> {
  const what = typeof model === 'string' ? `'${model}'` : 'the given model bytes';
  if (typeof model === 'string' && !(await stat(model).catch(() => undefined))?.isFile()) {
    throw new KeelError('INVALID_PARAMETER_VALUE', `Model file ${what} does not exist`);
  }
  const { InferenceSession } = await loadOrt();
  try {
    // Two calls because the overloads take a path or bytes, not their union.
    return typeof model === 'string'
      ? await InferenceSession.create(model, options)
      : await InferenceSession.create(model, options);
  } catch (err) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `${what} is not a valid ONNX model: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}
