/**
 * @module server/mlflow/schemas
 * zod schemas for MLflow tracking requests. int64 fields accept JSON numbers and numeric strings
 * (proto3 JSON allows both) within ±(2^53 - 1); doubles also accept "NaN", "Infinity" and "-Infinity". Unknown fields
 * are ignored, as MLflow's own parser does.
 */
import { z } from 'zod';

/**
 * Keel holds integers as JS numbers, exact within ±(2^53 - 1): beyond that (proto3 allows up to
 * 2^63 - 1) a value would be rounded, and PostgreSQL's BIGINT would refuse the rounded 2^63. Such
 * values are refused naming the field rather than stored wrong.
 */
const SAFE_RANGE = 'must be an integer within ±9007199254740991 (2^53 - 1)';
export const int64 = z
  .union([z.number(), z.string().regex(/^-?\d+$/, 'must be an integer')])
  .transform(Number)
  .refine(Number.isSafeInteger, SAFE_RANGE);

export const double = z.union([
  z.number(),
  z
    .enum(['NaN', 'Infinity', '-Infinity'])
    .transform((s) => (s === 'NaN' ? Number.NaN : s === 'Infinity' ? Infinity : -Infinity)),
  z
    .string()
    .regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/, 'must be a number')
    .transform(Number),
]);

/** A query-string list: `?a=1&a=2` arrives as an array, `?a=1` as a string. */
export const list = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]), z.array(item));

const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((s) => s === 'true')]);

export const keyValue = z.object({ key: z.string(), value: z.string() });
const tags = z.array(keyValue).optional();
const runId = z.string().min(1);

/** `run_uuid` is the deprecated twin of `run_id`: accept either. */
const withRunId = <T extends z.ZodRawShape>(shape: T) =>
  z.preprocess(
    (v) => {
      const o = v as Record<string, unknown> | null;
      return o && typeof o === 'object' && o.run_id === undefined && o.run_uuid !== undefined
        ? { ...o, run_id: o.run_uuid }
        : v;
    },
    z.object({ run_id: runId, ...shape }),
  );

const viewType = z.enum(['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL']).optional();
export const maxResults = int64.optional();

/** A metric point; MLflow 3 clients may link it to a logged model and the dataset it was measured on. */
const metric = {
  key: z.string(),
  value: double,
  timestamp: int64,
  step: int64.optional(),
  model_id: z.string().optional(),
  dataset_name: z.string().optional(),
  dataset_digest: z.string().optional(),
};

const modelId = z.string().min(1);
/** LoggedModelStatus by name or number, as proto3 JSON allows; 0 (UNSPECIFIED) is no status. */
const LOGGED_MODEL_STATUSES = [
  'LOGGED_MODEL_PENDING',
  'LOGGED_MODEL_READY',
  'LOGGED_MODEL_UPLOAD_FAILED',
] as const;
const loggedModelStatus = z.union([
  z.enum(LOGGED_MODEL_STATUSES),
  z
    .number()
    .int()
    .min(1)
    .max(3)
    .transform((n) => LOGGED_MODEL_STATUSES[n - 1]),
]);

export const S = {
  createExperiment: z.object({ name: z.string(), artifact_location: z.string().optional(), tags }),
  experimentId: z.object({ experiment_id: z.string().min(1) }),
  experimentName: z.object({ experiment_name: z.string().min(1) }),
  searchExperiments: z.object({
    max_results: maxResults,
    page_token: z.string().optional(),
    filter: z.string().optional(),
    order_by: list(z.string()).optional(),
    view_type: viewType,
  }),
  updateExperiment: z.object({ experiment_id: z.string().min(1), new_name: z.string() }),
  setExperimentTag: z.object({ experiment_id: z.string().min(1), key: z.string(), value: z.string() }),
  deleteExperimentTag: z.object({ experiment_id: z.string().min(1), key: z.string() }),
  createRun: z.object({
    experiment_id: z.string().optional(),
    run_name: z.string().optional(),
    start_time: int64.optional(),
    tags,
    user_id: z.string().optional(),
  }),
  updateRun: withRunId({
    status: z.enum(['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED']).optional(),
    end_time: int64.optional(),
    run_name: z.string().optional(),
  }),
  runOnly: withRunId({}),
  logMetric: withRunId(metric),
  logParam: withRunId({ key: z.string(), value: z.string() }),
  setTag: withRunId({ key: z.string(), value: z.string() }),
  deleteTag: withRunId({ key: z.string() }),
  logBatch: withRunId({
    metrics: z.array(z.object(metric)).optional(),
    params: z.array(keyValue).optional(),
    tags,
  }),
  logInputs: withRunId({
    datasets: z
      .array(
        z.object({
          tags,
          dataset: z.object({
            name: z.string(),
            digest: z.string(),
            source_type: z.string(),
            source: z.string(),
            schema: z.string().optional(),
            profile: z.string().optional(),
          }),
        }),
      )
      .optional(),
    models: z.array(z.object({ model_id: modelId })).optional(),
  }),
  logOutputs: withRunId({
    models: z.array(z.object({ model_id: modelId, step: int64.optional() })).optional(),
  }),
  logModel: withRunId({ model_json: z.string() }),
  searchRuns: z.object({
    experiment_ids: list(z.string()).optional(),
    filter: z.string().optional(),
    run_view_type: viewType,
    max_results: maxResults,
    order_by: list(z.string()).optional(),
    page_token: z.string().optional(),
  }),
  getHistory: withRunId({
    metric_key: z.string().min(1),
    page_token: z.string().optional(),
    max_results: maxResults,
  }),
  getHistoryBulk: z.object({
    run_ids: list(z.string()),
    metric_key: z.string().min(1),
    start_step: int64.optional(),
    end_step: int64.optional(),
    max_results: maxResults,
  }),
  listArtifacts: withRunId({ path: z.string().optional(), page_token: z.string().optional() }),
  createLoggedModel: z.object({
    experiment_id: z.string().min(1),
    name: z.string().optional(),
    model_type: z.string().optional(),
    source_run_id: z.string().optional(),
    params: z.array(keyValue).optional(),
    tags,
  }),
  modelId: z.object({ model_id: modelId }),
  finalizeLoggedModel: z.object({ model_id: modelId, status: loggedModelStatus }),
  setLoggedModelTags: z.object({ model_id: modelId, tags }),
  deleteLoggedModelTag: z.object({ model_id: modelId, tag_key: z.string().min(1) }),
  logLoggedModelParams: z.object({ model_id: modelId, params: z.array(keyValue).optional() }),
  listLoggedModelArtifacts: z.object({ model_id: modelId, artifact_directory_path: z.string().optional() }),
  searchLoggedModels: z.object({
    // Required as in MLflow's handler; an empty list finds nothing.
    experiment_ids: list(z.string()),
    filter: z.string().optional(),
    datasets: z
      .array(z.object({ dataset_name: z.string().min(1), dataset_digest: z.string().optional() }))
      .optional(),
    max_results: maxResults,
    order_by: z
      .array(
        z.object({
          field_name: z.string().min(1),
          ascending: bool.optional(),
          dataset_name: z.string().optional(),
          dataset_digest: z.string().optional(),
        }),
      )
      .optional(),
    page_token: z.string().optional(),
  }),
  bool,
};
