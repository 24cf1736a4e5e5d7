/**
 * @module serving/encode
 * Request rows to a model's input tensor: row-major float32 in the model's column order. Text
 * values of a categorical column become their code (an unseen category counts as missing, as in
 * training); null, undefined, NaN and '' are missing (NaN). Anything else that is not a number is
 * refused with the column, row and value named.
 */
import { KeelError } from '../core/index.js';
import type { ServingModel } from './model.js';

type Encoder = (value: unknown, row: number) => number;

function columnEncoder(model: ServingModel, column: string): Encoder {
  const categories = model.categories[column];
  if (categories) {
    const codes = new Map(categories.map((c, i) => [c, i]));
    return (value) =>
      value === null || value === undefined ? Number.NaN : (codes.get(String(value)) ?? Number.NaN);
  }
  return (value, row) => {
    if (value === null || value === undefined || value === '') return Number.NaN;
    if (typeof value === 'number') return value;
    if (typeof value === 'boolean') return value ? 1 : 0;
    const n = typeof value === 'string' ? Number(value) : Number.NaN;
    if (Number.isNaN(n) && value !== 'NaN')
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `column '${column}', row ${row}: ${JSON.stringify(value)} is not a number`,
      );
    return n;
  };
}

function encoders(model: ServingModel): Encoder[] {
  return model.info.features.length > 0
    ? model.info.features.map((f) => columnEncoder(model, f))
    : Array.from({ length: model.width }, (_, j) => columnEncoder(model, `#${j}`));
}

/**
 * Rows given as objects keyed by column name. Every model column must be present in every row
 * (null for missing); other keys are ignored.
 * @throws KeelError INVALID_PARAMETER_VALUE naming a missing column or a non-numeric value.
 */
export function encodeRecords(
  model: ServingModel,
  records: ReadonlyArray<Record<string, unknown>>,
): Float32Array {
  const names = model.info.features;
  if (names.length === 0)
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `${model.info.name} version ${model.info.version} has no column names: send rows as arrays of ${model.width} values`,
    );
  const enc = encoders(model);
  const out = new Float32Array(records.length * names.length);
  records.forEach((record, i) => {
    for (let j = 0; j < names.length; j++) {
      if (!(names[j] in record))
        throw new KeelError(
          'INVALID_PARAMETER_VALUE',
          `row ${i} lacks column '${names[j]}' (the model takes ${names.join(', ')})`,
        );
      out[i * names.length + j] = enc[j](record[names[j]], i);
    }
  });
  return out;
}

/**
 * Rows given as arrays of values in the model's column order.
 * @throws KeelError INVALID_PARAMETER_VALUE for a row of the wrong length or a non-numeric value.
 */
export function encodeArrays(model: ServingModel, rows: ReadonlyArray<readonly unknown[]>): Float32Array {
  const width = model.width;
  const enc = encoders(model);
  const out = new Float32Array(rows.length * width);
  rows.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== width)
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `row ${i} has ${Array.isArray(row) ? row.length : 'no'} values; the model takes ${width}`,
      );
    for (let j = 0; j < width; j++) out[i * width + j] = enc[j](row[j], i);
  });
  return out;
}
