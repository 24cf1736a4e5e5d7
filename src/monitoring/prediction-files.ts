/**
 * @module monitoring/prediction-files
 * Where the prediction log lives under the Keel home, and the names the writer and the reader
 * share: `<home>/predictions/<model>/date=YYYY-MM-DD/part-<ms>-<id>.parquet` for scored rows and
 * `<home>/feedback/date=YYYY-MM-DD/part-<ms>-<id>.parquet` for ground-truth labels.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { KeelError } from '../core/index.js';

/**
 * What a request id may be: a client's `X-Request-Id` is taken only in this shape, so it can go
 * into file rows, logs and headers unescaped.
 */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** @throws KeelError INVALID_PARAMETER_VALUE naming `what` when `id` is not a valid request id. */
export function checkRequestId(id: string, what: string): string {
  if (!REQUEST_ID_PATTERN.test(id))
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `${what} must be 1 to 128 letters, digits, '.', '_', ':' or '-' (starting with a letter or digit); got ${JSON.stringify(id.slice(0, 140))}`,
    );
  return id;
}

/**
 * The columns every logged prediction has; a model input named as one of them (or `label`) is
 * stored as `input_<name>` (`inputColumn`).
 */
export const PREDICTION_COLUMNS = [
  'timestamp',
  'request_id',
  'model',
  'version',
  'canary',
  'shadow',
  'row',
  'score',
  'latency_ms',
] as const;

/** `label` too: the reader joins ground truth under that name. */
const RESERVED = new Set<string>([...PREDICTION_COLUMNS, 'label']);

/** Whether a name, its leading `input_`s taken off, is a log column: then it is stored prefixed. */
const prefixed = (name: string): boolean => {
  let bare = name;
  while (bare.startsWith('input_')) bare = bare.slice(6);
  return RESERVED.has(bare);
};

/**
 * The Parquet column of a model input: `input_<name>` for `score` and the like, and for
 * `input_score` too (stored `input_input_score`), so two inputs never share a column; the name
 * itself otherwise. Undone by `inputName`.
 */
export const inputColumn = (name: string): string => (prefixed(name) ? `input_${name}` : name);

/** The model input a Parquet column that is not a log column holds (`inputColumn` undone). */
export const inputName = (stored: string): string => (prefixed(stored) ? stored.slice(6) : stored);

export const predictionsDir = (home: string, model: string): string => join(home, 'predictions', model);
export const feedbackDir = (home: string): string => join(home, 'feedback');

/** `YYYY-MM-DD` (UTC) of a time in ms: the partition a row goes to. */
export const utcDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * The Parquet files under `dir` whose date partition may hold rows from `from` to `to` (ms,
 * inclusive), oldest first. Hidden files (a write in progress) are skipped. Listed here rather than
 * globbed by DuckDB, whose glob would read `*` or `[` in a model name as a pattern.
 */
export function partitionFiles(dir: string, from?: number, to?: number): string[] {
  if (!existsSync(dir)) return [];
  const first = from === undefined ? undefined : utcDate(from);
  const last = to === undefined ? undefined : utcDate(to);
  return readdirSync(dir)
    .filter((d) => /^date=\d{4}-\d{2}-\d{2}$/.test(d))
    .map((d) => d.slice(5))
    .filter((date) => (first === undefined || date >= first) && (last === undefined || date <= last))
    .sort()
    .flatMap((date) =>
      readdirSync(join(dir, `date=${date}`))
        .filter((f) => f.startsWith('part-') && f.endsWith('.parquet'))
        .sort()
        .map((f) => join(dir, `date=${date}`, f)),
    );
}
