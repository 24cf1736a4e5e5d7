/**
 * @module serving/warm-up
 * What a version scores before it takes its first request: its input example when it has one
 * (`input_example.json` beside the model, pandas split orient, as MLflow and `keel train` save it),
 * through the same encoding requests take, so a version that fails or answers NaN on a realistic
 * row is never swapped in; otherwise (or when the example does not fit the model's columns) one
 * row of zeros, which still loads ONNX Runtime's kernels so the first request pays no warm-up.
 */
import { readFileSync } from 'node:fs';
import { KeelError } from '../core/index.js';
import { type EncodedRows, encodeArrays, encodeRecords } from './encode.js';
import type { ServingModel } from './model.js';

/** The rows of an input example: column names and one array of values per row. */
export interface InputExample {
  columns: string[];
  data: unknown[][];
}

/** Rows of the example scored at most: enough to cover its variety, few enough to stay quick. */
const MAX_ROWS = 64;

/** The input example in `path` (pandas split orient), when it parses. */
export function readInputExample(path: string): InputExample | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { columns?: unknown; data?: unknown };
    const { columns, data } = parsed;
    if (!Array.isArray(columns) || !Array.isArray(data) || !data.every(Array.isArray)) return undefined;
    return { columns: columns.map(String), data: (data as unknown[][]).slice(0, MAX_ROWS) };
  } catch {
    return undefined;
  }
}

/** The example as the model's rows, or undefined when it does not fit the model's columns. */
function encodeExample(model: ServingModel, example: InputExample): EncodedRows | undefined {
  if (example.data.length === 0) return undefined;
  try {
    if (model.info.features.length > 0)
      return encodeRecords(
        model,
        example.data.map((row) => Object.fromEntries(example.columns.map((c, j) => [c, row[j]]))),
      );
    return encodeArrays(model, example.data);
  } catch {
    return undefined;
  }
}

/**
 * Scores the version's input example (or a row of zeros) and says which it scored.
 * @throws KeelError as `ServingModel.score`; FAILED_PRECONDITION when a score is not a number.
 */
export async function warmUp(model: ServingModel, example: InputExample | undefined): Promise<string> {
  const encoded = example && encodeExample(model, example);
  const rows = encoded?.rows ?? 1;
  const scores = await model.score(encoded?.values ?? new Float32Array(model.width), rows);
  const what = encoded ? `its input example (${rows} rows)` : 'a row of zeros';
  // Only a realistic row must score: zeros may be outside what a model is defined on.
  const bad = encoded ? scores.findIndex((s) => !Number.isFinite(s)) : -1;
  if (bad >= 0)
    throw new KeelError(
      'FAILED_PRECONDITION',
      `${model.info.name} version ${model.info.version} scored ${scores[bad]} for row ${bad} of ${what}`,
    );
  return what;
}
