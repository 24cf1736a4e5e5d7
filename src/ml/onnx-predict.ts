/**
 * @module ml/onnx-predict
 * Scores a feature matrix with any ONNX model through ONNX Runtime, fed and read as `modelIo`
 * finds (one [N, F] input or one input per column; a classifier's class-1 probability or a
 * regressor's value).
 */
import { KeelError } from '../core/index.js';
import { type FeatureMatrix, rowCount } from './dataset.js';
import { inputFeeds, type ModelIo, modelIo, scoresFromOutput } from './onnx-io.js';
import { loadOrt, openOnnxSession } from './onnx-session.js';

/**
 * Scores rows with an ONNX model (bytes or path), with the default session settings. `io` saves reading the model again
 * when the caller has it.
 * @throws KeelError INVALID_PARAMETER_VALUE when the model's inputs do not take the matrix, or
 *   ONNX Runtime refuses the model or the input.
 */
export async function scoreOnnx(
  model: string | Uint8Array,
  x: FeatureMatrix,
  io: ModelIo = modelIo(model),
): Promise<Float64Array> {
  const n = rowCount(x);
  const f = x.columns.length;
  if (io.width !== null && io.width !== f)
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `the model takes ${io.width} values a row (inputs: ${io.inputs.map((i) => i.name).join(', ')}); got ${f} columns`,
    );
  const data = new Float32Array(n * f);
  for (let j = 0; j < f; j++) {
    const col = x.columns[j];
    for (let i = 0; i < n; i++) data[i * f + j] = col[i];
  }
  const session = await openOnnxSession(io.rewritten || typeof model !== 'string' ? io.bytes : model);
  const ort = await loadOrt();
  try {
    const out = await session.run(inputFeeds(ort, io, data, n, f), [io.output]);
    return scoresFromOutput(out, io, n);
  } catch (cause) {
    if (cause instanceof KeelError) throw cause;
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `ONNX Runtime failed to score ${n} rows: ${(cause as Error).message}`,
      { cause },
    );
  } finally {
    await session.release();
  }
}
