/**
 * @module ml/compare-models
 * How far a derived model (an INT8 quantization of an FP32 one) scores from the model it was made
 * from on the same labelled rows: both models' metrics, their differences, and the largest and
 * mean change of a row's score. The figures are stored as evidence a gate can read.
 */
import { KeelError } from '../core/index.js';
import { type EvaluateOptions, type EvaluationResult, evaluateModel } from './evaluate.js';

export interface ModelComparison {
  data: string;
  rows: number;
  task: EvaluationResult['task'];
  features: string[];
  /** Metrics of each model (null where undefined on this data). */
  reference: Record<string, number | null>;
  candidate: Record<string, number | null>;
  /** Candidate minus reference, for every metric both define. */
  deltas: Record<string, number>;
  /** Largest and mean absolute change of a row's score (a probability, or a regressor's value). */
  maxScoreDiff: number;
  meanScoreDiff: number;
  /** Share of rows whose label at the threshold is the same under both models (classifiers). */
  labelAgreement?: number;
}

/**
 * Evaluates `reference` and `candidate` (ONNX files) on the same labelled `data`.
 * @throws KeelError as `evaluateModel`; INVALID_PARAMETER_VALUE when the two models do not take
 *   the same columns or are not the same task.
 */
export async function compareModels(
  reference: string,
  candidate: string,
  options: Omit<EvaluateOptions, 'model' | 'keepScores' | 'run' | 'outDir' | 'thresholds'>,
): Promise<ModelComparison> {
  const ref = await evaluateModel({ ...options, model: reference, keepScores: true });
  // The candidate is fed exactly the columns the reference was.
  const cand = await evaluateModel({
    ...options,
    features: ref.features,
    task: ref.task,
    model: candidate,
    keepScores: true,
  });
  const a = ref.scores as Float64Array;
  const b = cand.scores as Float64Array;
  if (a.length !== b.length)
    throw new KeelError('INVALID_PARAMETER_VALUE', `the models scored ${a.length} and ${b.length} rows`);
  const threshold = options.threshold ?? 0.5;
  let max = 0;
  let sum = 0;
  let agree = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    max = Math.max(max, d);
    sum += d;
    if (a[i] > threshold === b[i] > threshold) agree++;
  }
  const deltas: Record<string, number> = {};
  for (const [k, v] of Object.entries(cand.metrics)) {
    const r = ref.metrics[k];
    if (v !== null && r !== null && r !== undefined) deltas[k] = v - r;
  }
  return {
    data: options.data,
    rows: a.length,
    task: ref.task,
    features: ref.features,
    reference: ref.metrics,
    candidate: cand.metrics,
    deltas,
    maxScoreDiff: max,
    meanScoreDiff: a.length > 0 ? sum / a.length : 0,
    ...(ref.task === 'binary' ? { labelAgreement: a.length > 0 ? agree / a.length : 1 } : {}),
  };
}
