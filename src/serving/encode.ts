/**
 * @module serving/encode
 * Request rows to a model's input tensor: row-major float32 in the model's column order. Text
 * values of a categorical column become their code; a category the model never saw is fed as
 * missing (as in training) and listed, so the input policy can report or refuse it. null,
 * undefined, NaN and '' are missing (NaN). Anything else that is not a number is refused with the
 * column, row and value named.
 */
import { KeelError } from '../core/index.js';
import type { ServingModel } from './model.js';

/** A value of a categorical column that is not among the model's categories. */
export interface UnseenCategory {
  row: number;
  column: string;
  value: string | number;
}

/** A request's rows as the model takes them, and the unseen categories met on the way. */
export interface EncodedRows {
  values: Float32Array;
  rows: number;
  unseen: UnseenCategory[];
}

type Encoder = (value: unknown, row: number) => number;

function columnEncoder(model: ServingModel, column: string, unseen: UnseenCategory[]): Encoder {
  const categories = model.categories[column];
  if (categories) {
    const codes = new Map(categories.map((c, i) => [c, i]));
    return (value, row) => {
      if (value === null || value === undefined || value === '') return Number.NaN;
      const code = codes.get(String(value));
      if (code !== undefined) return code;
      unseen.push({ row, column, value: typeof value === 'number' ? value : String(value) });
      return Number.NaN;
    };
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

function encoders(model: ServingModel, unseen: UnseenCategory[]): Encoder[] {
  return model.info.features.length > 0
    ? model.info.features.map((f) => columnEncoder(model, f, unseen))
    : Array.from({ length: model.width }, (_, j) => columnEncoder(model, `#${j}`, unseen));
}

/**
 * The model's column names, for a request that names its columns.
 * @throws KeelError INVALID_PARAMETER_VALUE when the model names none (it takes arrays only).
 */
function columnNames(model: ServingModel): readonly string[] {
  const names = model.info.features;
  if (names.length === 0)
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `${model.info.name} version ${model.info.version} has no column names: send rows as arrays of ${model.width} values`,
    );
  return names;
}

/**
 * Rows given as objects keyed by column name. Every model column must be present in every row
 * (null for missing); other keys are ignored.
 * @throws KeelError INVALID_PARAMETER_VALUE naming a missing column or a non-numeric value.
 */
export function encodeRecords(
  model: ServingModel,
  records: ReadonlyArray<Record<string, unknown>>,
): EncodedRows {
  const names = columnNames(model);
  const unseen: UnseenCategory[] = [];
  const enc = encoders(model, unseen);
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
  return { values: out, rows: records.length, unseen };
}

/** Where each model column sits among `given` columns: a missing one is refused as a record lacking it. */
function columnIndex(model: ServingModel, given: readonly string[], rows: number): number[] {
  const names = model.info.features;
  const at = new Map(given.map((c, i) => [c, i]));
  return names.map((name) => {
    const i = at.get(name);
    if (i === undefined && rows > 0)
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `row 0 lacks column '${name}' (the model takes ${names.join(', ')})`,
      );
    return i ?? -1;
  });
}

/**
 * Rows given as arrays under named columns (`dataframe_split`, CSV), read column by column into
 * the tensor with no object per row. A model with no column names reads them by position.
 * @throws KeelError INVALID_PARAMETER_VALUE for a row of the wrong length, a model column not
 *   given, or a non-numeric value.
 */
export function encodeTable(
  model: ServingModel,
  columns: readonly string[],
  rows: ReadonlyArray<readonly unknown[]>,
): EncodedRows {
  if (model.info.features.length === 0) return encodeArrays(model, rows);
  const ragged = rows.findIndex((row) => row.length !== columns.length);
  if (ragged >= 0)
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `row ${ragged} has ${rows[ragged].length} values for ${columns.length} columns`,
    );
  const index = columnIndex(model, columns, rows.length);
  const width = index.length;
  const unseen: UnseenCategory[] = [];
  const enc = encoders(model, unseen);
  const out = new Float32Array(rows.length * width);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    for (let j = 0; j < width; j++) out[i * width + j] = enc[j](row[index[j]], i);
  }
  return { values: out, rows: rows.length, unseen };
}

/**
 * Columns of values by name, all of length `rows` (MLflow's columnar `inputs`, OIP's one input
 * per column), encoded column by column.
 * @throws KeelError INVALID_PARAMETER_VALUE for a model column not given or a non-numeric value.
 */
export function encodeColumns(
  model: ServingModel,
  columns: ReadonlyMap<string, ArrayLike<unknown>>,
  rows: number,
): EncodedRows {
  const names = columnNames(model);
  columnIndex(model, [...columns.keys()], rows);
  const width = names.length;
  const unseen: UnseenCategory[] = [];
  const enc = encoders(model, unseen);
  const out = new Float32Array(rows * width);
  for (let j = 0; j < width; j++) {
    const column = columns.get(names[j]) as ArrayLike<unknown>;
    const e = enc[j];
    for (let i = 0; i < rows; i++) out[i * width + j] = e(column[i], i);
  }
  // Column by column meets the unseen categories out of row order; the answer lists them by row.
  if (unseen.length > 1)
    unseen.sort((a, b) => a.row - b.row || names.indexOf(a.column) - names.indexOf(b.column));
  return { values: out, rows, unseen };
}

/**
 * Rows given as arrays of values in the model's column order.
 * @throws KeelError INVALID_PARAMETER_VALUE for a row of the wrong length or a non-numeric value.
 */
export function encodeArrays(model: ServingModel, rows: ReadonlyArray<readonly unknown[]>): EncodedRows {
  const width = model.width;
  const unseen: UnseenCategory[] = [];
  const enc = encoders(model, unseen);
  const out = new Float32Array(rows.length * width);
  rows.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== width)
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `row ${i} has ${Array.isArray(row) ? row.length : 'no'} values; the model takes ${width}`,
      );
    for (let j = 0; j < width; j++) out[i * width + j] = enc[j](row[j], i);
  });
  return { values: out, rows: rows.length, unseen };
}

/**
 * A tensor the caller encoded (OIP infer): a categorical column's value must be a category's code,
 * an integer below the number of categories; any other number is an unseen category, fed as
 * missing. `values` is changed in place.
 */
export function encodedTensor(model: ServingModel, values: Float32Array, rows: number): EncodedRows {
  const unseen: UnseenCategory[] = [];
  const width = model.width;
  model.info.features.forEach((column, j) => {
    const n = model.categories[column]?.length;
    if (n === undefined) return;
    for (let i = 0; i < rows; i++) {
      const v = values[i * width + j];
      if (Number.isNaN(v) || (Number.isInteger(v) && v >= 0 && v < n)) continue;
      unseen.push({ row: i, column, value: v });
      values[i * width + j] = Number.NaN;
    }
  });
  return { values, rows, unseen };
}
