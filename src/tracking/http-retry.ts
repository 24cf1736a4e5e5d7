/**
 * @module tracking/http-retry
 * The tracking client's HTTP requests fail and retry as MLflow's Python client does
 * (mlflow/utils/rest_utils.py and request_utils.py): a timeout per attempt (120 s), up to 7
 * retries on a network error, a timeout, or HTTP 408, 429, 500, 502, 503 and 504, with urllib3's
 * exponential backoff (none before the first retry, then 2 s x 2^(n-1), plus up to 1 s of jitter,
 * at most 120 s) and the server's Retry-After honoured on 429 and 503. The MLflow client's
 * environment variables set the same knobs, in seconds.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { KeelError } from '../core/index.js';

export interface RetryOptions {
  /** How long one attempt may take before it is abandoned (ms). */
  timeoutMs: number;
  /** Retries after the first attempt. */
  maxRetries: number;
  /** The backoff before retry n (n >= 2) is `backoffFactorMs * 2^(n-1)` (ms). */
  backoffFactorMs: number;
  /** Up to this much random time is added to each backoff (ms). */
  backoffJitterMs: number;
}

/** MLflow's defaults (`MLFLOW_HTTP_REQUEST_*` in mlflow/environment_variables.py). */
export const DEFAULT_RETRY: RetryOptions = {
  timeoutMs: 120_000,
  maxRetries: 7,
  backoffFactorMs: 2000,
  backoffJitterMs: 1000,
};

/** HTTP statuses worth another attempt (MLflow's `_TRANSIENT_FAILURE_RESPONSE_CODES`). */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);
const RETRY_AFTER_STATUSES = new Set([429, 503]);
/** urllib3's ceiling on one pause. */
const MAX_BACKOFF_MS = 120_000;

/** The pause before retry `n` (1 for the first retry), as urllib3's `Retry.get_backoff_time`. */
export function backoffMs(n: number, options: RetryOptions, random: () => number = Math.random): number {
  if (n <= 1) return 0;
  const value = options.backoffFactorMs * 2 ** (n - 1) + random() * options.backoffJitterMs;
  return Math.max(0, Math.min(MAX_BACKOFF_MS, value));
}

/** `Retry-After` as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const value = /^\d+$/.test(header.trim()) ? Number(header) * 1000 : Date.parse(header) - now;
  return Number.isFinite(value) ? Math.max(0, Math.min(MAX_BACKOFF_MS, value)) : undefined;
}

/**
 * The MLflow client's environment variables, in seconds, as retry options:
 * `MLFLOW_HTTP_REQUEST_TIMEOUT`, `_MAX_RETRIES`, `_BACKOFF_FACTOR`, `_BACKOFF_JITTER`.
 * @throws INVALID_PARAMETER_VALUE naming a variable that is not a non-negative number.
 */
export function retryOptionsFromEnv(env: NodeJS.ProcessEnv): Partial<RetryOptions> {
  const read = (name: string, scale: number, integer = false): number | undefined => {
    const text = env[name];
    if (text === undefined || text === '') return undefined;
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n)))
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `${name}='${text}' must be a non-negative ${integer ? 'integer' : 'number'}`,
      );
    return n * scale;
  };
  const options: Partial<RetryOptions> = {
    timeoutMs: read('MLFLOW_HTTP_REQUEST_TIMEOUT', 1000),
    maxRetries: read('MLFLOW_HTTP_REQUEST_MAX_RETRIES', 1, true),
    backoffFactorMs: read('MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR', 1000),
    backoffJitterMs: read('MLFLOW_HTTP_REQUEST_BACKOFF_JITTER', 1000),
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

/**
 * Sends a request, retrying transient failures. `init` is called for every attempt, so a
 * streamed body is opened afresh each time. A transient status still failing after the last
 * retry is returned for the caller to read the server's error from.
 * @throws TEMPORARILY_UNAVAILABLE when no attempt got an answer (network errors, timeouts).
 */
export async function fetchWithRetry(
  url: string,
  init: () => RequestInit,
  options: RetryOptions,
  what: string,
): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const last = attempt >= options.maxRetries;
    let res: Response;
    try {
      res = await fetch(url, { ...init(), signal: AbortSignal.timeout(options.timeoutMs) });
    } catch (err) {
      if (last) {
        const reason =
          (err as Error).name === 'TimeoutError'
            ? `no answer within ${options.timeoutMs} ms`
            : ((err as Error & { cause?: Error }).cause?.message ?? (err as Error).message);
        throw new KeelError(
          'TEMPORARILY_UNAVAILABLE',
          `${what} failed after ${attempt + 1} attempt${attempt ? 's' : ''}: ${reason}`,
          { cause: err },
        );
      }
      await sleep(backoffMs(attempt + 1, options));
      continue;
    }
    if (last || !RETRY_STATUSES.has(res.status)) return res;
    const wait = RETRY_AFTER_STATUSES.has(res.status)
      ? retryAfterMs(res.headers.get('retry-after'))
      : undefined;
    await res.arrayBuffer().catch(() => undefined); // free the connection
    await sleep(wait ?? backoffMs(attempt + 1, options));
  }
}

/** Whether an error is worth sending the same request again later: the server never took it. */
export function isTransient(err: unknown): boolean {
  return !(err instanceof KeelError) || RETRY_STATUSES.has(err.status);
}
