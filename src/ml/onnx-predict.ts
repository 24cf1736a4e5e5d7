/**
 * @module ml/onnx-predict
 * Scores a feature matrix with any ONNX model through ONNX Runtime: the model's first input gets
 * a float tensor [N, F]; a classifier's score is the class-1 column of `probabilities` (or of its
 * first float output with two columns), a regressor's is `variable` (or its first float output).
 */
import { KeelError } from '../core/index.js';
import { type FeatureMatrix, rowCount } from './dataset.js';
import { loadOrt, type OnnxSession, openOnnxSession } from './onnx-session.js';

type OnnxOutputs = Awaited<ReturnType<OnnxSession['run']>>;

/**
 * The score of each of `n` rows in a session's outputs: the class-1 column of `probabilities`
 * (or of the first float output with two columns), else `variable` or the first float output.
 * @throws KeelError INVALID_PARAMETER_VALUE when the model has no float output.
 */
export function scoresOf(out: OnnxOutputs, outputNames: readonly string[], n: number): Float64Array {
  const name =
    ['probabilities', 'variable'].find((k) => out[k]) ?? outputNames.find((k) => out[k].type === 'float32');
  if (!name)
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `the model has no float output (outputs: ${outputNames.join(', ')})`,
    );
  const t = out[name];
  const values = t.data as Float32Array;
  const width = t.dims.length === 2 ? Number(t.dims[1]) : 1;
  const column = width === 2 ? 1 : 0;
  return Float64Array.from({ length: n }, (_, i) => values[i * width + column]);
}

/**
 * Scores rows with an ONNX model (bytes or path), one thread.
 * @throws KeelError INVALID_PARAMETER_VALUE when ONNX Runtime refuses the model or the input.
 */
export async function scoreOnnx(model: string | Uint8Array, x: FeatureMatrix): Promise<Float64Array> {
  const n = rowCount(x);
  const f = x.columns.length;
  const data = new Float32Array(n * f);
  for (let j = 0; j < f; j++) {
    const col = x.columns[j];
    for (let i = 0; i < n; i++) data[i * f + j] = col[i];
  }
  const session = await openOnnxSession(model, { intraOpNumThreads: 1 });
  const { Tensor } = await loadOrt();
  try {
    const out = await session.run({ [session.inputNames[0]]: new Tensor('float32', data, [n, f]) });
    return scoresOf(out, session.outputNames, n);
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
