/**
 * @module tracking/limits
 * MLflow's request limits and name rules (mlflow/utils/validation.py), enforced in the store so the
 * CLI, the library and the REST API refuse the same things with the same messages.
 */
import { KeelError } from '../core/index.js';
import type { LogBatch } from './types.js';

export const LIMITS = {
  metricsPerBatch: 1000,
  paramsPerBatch: 100,
  tagsPerBatch: 100,
  entitiesPerBatch: 1000,
  keyLength: 250,
  paramValueLength: 6000,
  runTagValueLength: 8000,
  experimentTagValueLength: 5000,
  maxResults: 50_000,
} as const;

const bad = (message: string) => new KeelError('INVALID_PARAMETER_VALUE', message);
const NAME_RE = /^[/\w.\- :]*$/;

/**
 * Metric and param names: MLflow's character set, no path tricks, at most 250 characters. Tags and
 * logged-model params keep only the length and path rules: MLflow's store checks no more of them.
 */
export function validateKey(kind: 'metric' | 'param' | 'tag' | 'model param', key: unknown): string {
  if (typeof key !== 'string' || key === '')
    throw bad(`Invalid ${kind} name: a non-empty string is required`);
  if (key.length > LIMITS.keyLength) {
    throw bad(
      `Invalid ${kind} name '${key.slice(0, 40)}...': ${key.length} characters, the limit is ${LIMITS.keyLength}`,
    );
  }
  if ((kind === 'metric' || kind === 'param') && !NAME_RE.test(key)) {
    throw bad(
      `Invalid ${kind} name '${key}': names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/)`,
    );
  }
  if (key.split('/').some((p) => p === '..') || key.startsWith('/')) {
    throw bad(`Invalid ${kind} name '${key}': it must not be an absolute path or contain '..'`);
  }
  return key;
}

export function validateRunId(runId: unknown): string {
  if (typeof runId !== 'string' || !/^[a-zA-Z0-9][\w-]{0,255}$/.test(runId)) {
    throw bad(`Invalid run ID '${String(runId)}'`);
  }
  return runId;
}

export function validateBatch(batch: LogBatch): void {
  const m = batch.metrics?.length ?? 0;
  const p = batch.params?.length ?? 0;
  const t = batch.tags?.length ?? 0;
  if (m > LIMITS.metricsPerBatch) {
    throw bad(
      `A batch logging request can contain at most ${LIMITS.metricsPerBatch} metrics. Got ${m} metrics.`,
    );
  }
  if (p > LIMITS.paramsPerBatch) {
    throw bad(
      `A batch logging request can contain at most ${LIMITS.paramsPerBatch} params. Got ${p} params.`,
    );
  }
  if (t > LIMITS.tagsPerBatch) {
    throw bad(`A batch logging request can contain at most ${LIMITS.tagsPerBatch} tags. Got ${t} tags.`);
  }
  if (m + p + t > LIMITS.entitiesPerBatch) {
    throw bad(
      `A batch logging request can contain at most ${LIMITS.entitiesPerBatch} metrics, params and tags in total. Got ${m + p + t}.`,
    );
  }
  for (const metric of batch.metrics ?? []) {
    validateKey('metric', metric.key);
    if (typeof metric.value !== 'number') throw bad(`Metric '${metric.key}' must have a numeric value`);
    if (!Number.isInteger(metric.timestamp))
      throw bad(`Metric '${metric.key}' must have an integer timestamp (ms)`);
    if (!Number.isInteger(metric.step)) throw bad(`Metric '${metric.key}' must have an integer step`);
  }
  for (const param of batch.params ?? []) {
    validateKey('param', param.key);
    if (typeof param.value !== 'string') throw bad(`Param '${param.key}' must have a string value`);
    if (param.value.length > LIMITS.paramValueLength) {
      throw bad(
        `Param '${param.key}' value is ${param.value.length} characters, the limit is ${LIMITS.paramValueLength}`,
      );
    }
  }
  for (const tag of batch.tags ?? []) validateTag(tag.key, tag.value, LIMITS.runTagValueLength);
}

export function validateTag(key: unknown, value: unknown, maxValue: number): void {
  validateKey('tag', key);
  if (typeof value !== 'string') throw bad(`Tag '${String(key)}' must have a string value`);
  if (value.length > maxValue)
    throw bad(`Tag '${String(key)}' value is ${value.length} characters, the limit is ${maxValue}`);
}

export function validateMaxResults(
  maxResults: number | undefined,
  fallback: number,
  limit: number = LIMITS.maxResults,
): number {
  if (maxResults === undefined) return fallback;
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > limit) {
    throw bad(
      `Invalid value ${maxResults} for parameter 'max_results': it must be an integer from 1 to ${limit}`,
    );
  }
  return maxResults;
}
