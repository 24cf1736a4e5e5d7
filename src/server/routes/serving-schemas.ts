/**
 * @module server/routes/serving-schemas
 * zod schemas of the online serving requests: MLflow's scoring formats (specs/COMPAT.md section
 * 3), the Open Inference Protocol v2 infer request (section 5), and Keel's `/predict`.
 */
import { z } from 'zod';

/** One cell of a row: the model's encoder turns it into a number or a category code. */
const cell = z.union([z.number(), z.string(), z.boolean(), z.null()]);
const arrayRows = z.array(z.array(cell));
const recordRows = z.array(z.record(z.string(), cell));

/** MLflow's four JSON payloads; `params` is allowed and ignored (Keel's models take none). */
export const MLFLOW_FORMATS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;

export const mlflowFormats = {
  /** pandas `orient="split"`; without `columns` the rows are read by position. */
  dataframe_split: z.object({
    columns: z.array(z.string()).optional(),
    data: arrayRows,
    index: z.array(z.unknown()).optional(),
  }),
  dataframe_records: recordRows,
  /** TF-serving rows: arrays in the model's column order, or objects by column name. */
  instances: z.union([arrayRows, recordRows]),
  /** TF-serving tensor (rows) or columnar (`{column: [values]}`) input. */
  inputs: z.union([arrayRows, z.record(z.string(), z.array(cell))]),
} as const;

/** OIP `parameters`: values are strings, numbers or booleans. */
const parameters = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

export const OIP_DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
  'BF16',
] as const;
export type OipDatatype = (typeof OIP_DATATYPES)[number];

const tensorInput = z.object({
  name: z.string().min(1),
  shape: z.array(z.number().int().min(0)).min(1),
  datatype: z.enum(OIP_DATATYPES),
  parameters: parameters.optional(),
  /** Row-major, flat or nested. */
  data: z.array(z.unknown()),
});
export type TensorInput = z.infer<typeof tensorInput>;

export const inferBody = z.object({
  id: z.string().optional(),
  parameters: parameters.optional(),
  inputs: z.array(tensorInput).min(1),
  outputs: z.array(z.object({ name: z.string().min(1), parameters: parameters.optional() })).optional(),
});

/** `version` as OIP and MLflow send it, a number or a numeric string. */
const version = z
  .union([z.string().regex(/^[1-9]\d*$/, 'must be a version number'), z.number().int().positive()])
  .transform(String);

export const predictBody = z
  .object({
    /** Optional when one model is served. */
    model: z.string().min(1).optional(),
    version: version.optional(),
    /** Join key columns, as Feast's `/get-online-features` takes them: features are read online. */
    entities: z
      .record(z.string(), z.array(z.union([z.number(), z.string()])).min(1))
      .refine((e) => Object.keys(e).length > 0, 'must name at least one join key')
      .optional(),
    /** Feature rows given whole: objects by column name, or arrays in the model's column order. */
    rows: z.union([recordRows.min(1), arrayRows.min(1)]).optional(),
  })
  .refine((b) => (b.entities === undefined) !== (b.rows === undefined), {
    message: 'give exactly one of entities and rows',
  });
