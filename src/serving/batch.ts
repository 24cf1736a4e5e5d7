/**
 * @module serving/batch
 * Batch scoring: a file (Parquet, CSV, CSV.gz, JSON) scored with a registered model into one
 * Parquet file. DuckDB streams the input; rows are gathered into chunks of `chunkRows`, encoded
 * into the model's float32 tensor as `encodeRecords` encodes a request (text of a categorical
 * column becomes its code, an unseen category and a missing value become NaN), scored in ONNX
 * Runtime, and each chunk is written as a Parquet part. The parts are then merged into a hidden
 * file beside the output and renamed over it. Memory follows the chunk size, never the file size,
 * and a failure at any point leaves no output and no parts behind.
 *
 * Output columns: the `keep` columns as the input types them (a CSV's are text), `score` (DOUBLE:
 * the class-1 probability of a classifier, the value of a regressor), then `model_name` and
 * `model_version`. The model is recorded in constant columns rather than Parquet key-value
 * metadata so that outputs of several versions can be stacked and still told apart in plain SQL;
 * Parquet's run-length encoding makes a constant column cost a few bytes per row group.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import {
  fsyncFile,
  invalid,
  KeelError,
  notFound,
  type ProgressFn,
  parseInput,
  shortId,
} from '../core/index.js';
import type { CsvOptions } from '../data/index.js';
import type { FeatureStore } from '../features/index.js';
import type { Registry } from '../registry/index.js';
import { writeScores } from './batch-writer.js';
import { ServingModel, type SessionOptions } from './model.js';

export interface ScoreDatasetOptions {
  registry: Registry;
  /** The version to score with: `models:/churn@champion`, `models:/churn/3`, `models:/churn/Production`. */
  model: string;
  /** A Parquet, CSV (also `.csv.gz`; cells are text, an empty cell is missing) or JSON file. */
  input: string;
  /** The `.parquet` file to write; replaced atomically. */
  output: string;
  /** A CSV input's dialect (delimiter, quote, header); what is left out is sniffed. */
  csv?: CsvOptions;
  /** Input columns copied beside the score, in this order (ids, keys); a CSV's typed as its values are. */
  keep?: string[];
  /**
   * The input's columns feeding the model, in order, for a model that names none (a foreign model
   * with one [N, F] input and no feature references). Without it such a model takes the file's
   * columns besides the `keep` ones, when there are exactly as many as it takes.
   */
  columns?: string[];
  /**
   * Rows per scoring call (default 65,536). DuckDB hands rows over in vectors of up to 2,048, so
   * a chunk may run up to 2,047 rows over.
   */
  chunkRows?: number;
  /**
   * When given, `input` holds entity rows (join keys and an event timestamp) and the model's
   * features are joined point in time from this store's offline data by the version's feature
   * references, as `keel features get-historical` joins them.
   */
  features?: FeatureStore;
  /** The entity rows' timestamp column (default `event_timestamp`); only with `features`. */
  eventTimestampColumn?: string;
  /** ONNX Runtime settings and the optimized-graph cache (serving/model `sessionOptionsFrom`). */
  session?: SessionOptions;
  /** Called after each chunk is written (`unit: 'rows'`; `total` known for Parquet input). */
  progress?: ProgressFn;
}

export interface ScoreDatasetResult {
  rows: number;
  /** Wall time of the whole call, model loading included (s). */
  seconds: number;
  rowsPerSecond: number;
  model: string;
  version: string;
  /** The absolute path written. */
  output: string;
}

/** Columns every output has after the `keep` columns. */
const OUTPUT_COLUMNS = ['score', 'model_name', 'model_version'];
const DEFAULT_CHUNK_ROWS = 65_536;

const optionsSchema = z.object({
  model: z.string().min(1),
  input: z.string().min(1),
  output: z.string().regex(/\.parquet$/i, 'must name a .parquet file'),
  keep: z
    .array(z.string().min(1))
    .default([])
    .refine((keep) => new Set(keep).size === keep.length, 'names a column twice')
    .refine((keep) => !keep.some((k) => OUTPUT_COLUMNS.includes(k)), {
      message: `cannot name an output column (${OUTPUT_COLUMNS.join(', ')})`,
    }),
  chunkRows: z.number().int().min(1).max(16_777_216).default(DEFAULT_CHUNK_ROWS),
  eventTimestampColumn: z.string().min(1).optional(),
  columns: z
    .array(z.string().min(1))
    .min(1)
    .refine((c) => new Set(c).size === c.length, 'names a column twice')
    .optional(),
});

/**
 * Scores every row of `input` with the model `model` names and writes the scores to `output`.
 * @example
 * const { rows, rowsPerSecond } = await scoreDataset({
 *   registry, model: 'models:/churn@champion', input: 'customers.parquet',
 *   output: 'scores.parquet', keep: ['customer_id'],
 * });
 * @throws KeelError RESOURCE_DOES_NOT_EXIST for an unknown model, version or alias, or a missing
 *   input file; INVALID_PARAMETER_VALUE for bad options, a model column or `keep` column the input
 *   lacks (raised before any row is scored), or a model without column names whose width neither
 *   `columns` nor the file's columns match; DATA_VALIDATION_FAILED
 *   for a value that is not a number in a numeric column (naming column, row and value) or input
 *   DuckDB cannot read; FAILED_PRECONDITION with `features` when the version has no feature
 *   references.
 */
export async function scoreDataset(options: ScoreDatasetOptions): Promise<ScoreDatasetResult> {
  const o = parseInput(
    optionsSchema,
    {
      model: options.model,
      input: options.input,
      output: options.output,
      keep: options.keep,
      chunkRows: options.chunkRows,
      eventTimestampColumn: options.eventTimestampColumn,
      columns: options.columns,
    },
    'batch scoring options',
  );
  const output = resolve(o.output);
  if (resolve(o.input) === output) throw invalid(`output '${o.output}' is the input file`);
  if (!existsSync(o.input)) throw notFound(`input file '${o.input}' does not exist`);
  const started = performance.now();
  const model = await ServingModel.load(options.registry, o.model, options.session);
  // Everything temporary lives beside the output: the same file system for the final rename, and
  // not the OS temp folder, which is often a RAM-backed tmpfs.
  mkdirSync(dirname(output), { recursive: true });
  const stem = join(dirname(output), `.${basename(output)}.${process.pid}.${shortId()}`);
  const temp = { parts: `${stem}.parts`, file: `${stem}.tmp`, joined: `${stem}.features.parquet` };
  try {
    const { name, version } = model.info;
    let input = o.input;
    if (options.features) {
      await joinFeatures(options.features, model, o.input, temp.joined, o.eventTimestampColumn);
      input = temp.joined;
    }
    mkdirSync(temp.parts);
    const rows = await writeScores({
      model,
      columns: o.columns,
      input,
      name: o.input,
      csv: options.features ? undefined : options.csv,
      keep: o.keep,
      chunkRows: o.chunkRows,
      parts: temp.parts,
      file: temp.file,
      progress: options.progress ?? (() => {}),
    });
    fsyncFile(temp.file);
    renameSync(temp.file, output);
    fsyncFile(dirname(output));
    const seconds = (performance.now() - started) / 1000;
    return { rows, seconds, rowsPerSecond: rows / seconds, model: name, version, output };
  } finally {
    for (const path of Object.values(temp)) rmSync(path, { recursive: true, force: true });
    await model.release();
  }
}

async function joinFeatures(
  store: FeatureStore,
  model: ServingModel,
  entities: string,
  out: string,
  eventTimestampColumn: string | undefined,
): Promise<void> {
  const { name, version, featureRefs } = model.info;
  if (featureRefs.length === 0)
    throw new KeelError(
      'FAILED_PRECONDITION',
      `${name} version ${version} names no feature references to join: score a file of feature rows instead`,
    );
  await store.getHistoricalFeatures({
    features: featureRefs,
    entityRows: { path: entities },
    eventTimestampColumn,
    out,
  });
}
