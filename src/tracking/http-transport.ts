/**
 * @module tracking/http-transport
 * The HTTP transport: MLflow's REST API, so the same client logs to `keel serve` or to an MLflow
 * server. Every request has a timeout and retries transient failures as MLflow's client does
 * (`http-retry.ts`). Errors come back as KeelErrors with the server's error code and message.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { ERROR_CODES, type ErrorCode, KeelError } from '../core/index.js';
import type { RunStatus } from './client.js';
import { DEFAULT_RETRY, fetchWithRetry, type RetryOptions } from './http-retry.js';
import type { NewRun, TrackingTransport } from './transport.js';
import type { DatasetInputEntity, LogBatch } from './types.js';

export class HttpTransport implements TrackingTransport {
  private readonly base: string;
  private readonly retry: RetryOptions;

  constructor(
    baseUrl: string,
    private readonly token?: string,
    retry: Partial<RetryOptions> = {},
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
    this.retry = { ...DEFAULT_RETRY, ...retry };
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: Record<string, unknown>): Promise<T> {
    let url = `${this.base}/api/2.0/mlflow/${path}`;
    if (method === 'GET' && body) url += `?${new URLSearchParams(body as Record<string, string>)}`;
    const res = await fetchWithRetry(
      url,
      () => ({
        method,
        headers: this.headers(method === 'POST' ? { 'content-type': 'application/json' } : {}),
        body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined,
      }),
      this.retry,
      `${method} ${path} to ${this.base}`,
    );
    return parseResponse<T>(res, `${method} ${path}`);
  }

  async ensureExperiment(name: string): Promise<string> {
    try {
      const got = await this.call<{ experiment: { experiment_id: string } }>(
        'GET',
        'experiments/get-by-name',
        { experiment_name: name },
      );
      return got.experiment.experiment_id;
    } catch (err) {
      if (!(err instanceof KeelError) || err.code !== 'RESOURCE_DOES_NOT_EXIST') throw err;
    }
    try {
      return (await this.call<{ experiment_id: string }>('POST', 'experiments/create', { name }))
        .experiment_id;
    } catch (err) {
      if (err instanceof KeelError && err.code === 'RESOURCE_ALREADY_EXISTS')
        return this.ensureExperiment(name);
      throw err;
    }
  }

  async createRun(options: NewRun): Promise<string> {
    const res = await this.call<{ run: { info: { run_id: string } } }>('POST', 'runs/create', {
      experiment_id: options.experimentId,
      run_name: options.runName,
      start_time: options.startTime,
      tags: options.tags,
    });
    return res.run.info.run_id;
  }

  async getRun(runId: string): Promise<{ experimentId: string; lifecycleStage: string }> {
    const res = await this.call<{ run: { info: { experiment_id: string; lifecycle_stage: string } } }>(
      'GET',
      'runs/get',
      { run_id: runId },
    );
    return { experimentId: res.run.info.experiment_id, lifecycleStage: res.run.info.lifecycle_stage };
  }

  async logBatch(runId: string, batch: LogBatch): Promise<void> {
    await this.call('POST', 'runs/log-batch', { run_id: runId, ...batch });
  }

  async logInputs(runId: string, inputs: DatasetInputEntity[]): Promise<void> {
    await this.call('POST', 'runs/log-inputs', { run_id: runId, datasets: inputs });
  }

  async logArtifact(runId: string, localPath: string, artifactPath = ''): Promise<void> {
    const run = await this.call<{ run: { info: { artifact_uri: string } } }>('GET', 'runs/get', {
      run_id: runId,
    });
    const uri = run.run.info.artifact_uri;
    if (!uri.startsWith('mlflow-artifacts:/')) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `Run ${runId} stores artifacts at '${uri}', which this client cannot upload to`,
      );
    }
    const root = uri.slice('mlflow-artifacts:/'.length).replace(/^\/+/, '');
    const prefix = [root, artifactPath].filter(Boolean).join('/');
    await this.upload(localPath, `${prefix}/${basename(localPath)}`);
  }

  private async upload(localPath: string, remotePath: string): Promise<void> {
    const info = await stat(localPath).catch(() => undefined);
    if (!info) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `No local file or folder '${localPath}'`);
    if (info.isDirectory()) {
      for (const entry of await readdir(localPath))
        await this.upload(join(localPath, entry), `${remotePath}/${entry}`);
      return;
    }
    const encoded = remotePath.split('/').map(encodeURIComponent).join('/');
    const res = await fetchWithRetry(
      `${this.base}/api/2.0/mlflow-artifacts/artifacts/${encoded}`,
      () =>
        ({
          method: 'PUT',
          headers: this.headers({
            'content-type': 'application/octet-stream',
            'content-length': String(info.size),
          }),
          body: Readable.toWeb(createReadStream(localPath)) as ReadableStream,
          duplex: 'half',
        }) as RequestInit,
      this.retry,
      `PUT artifact ${remotePath} to ${this.base}`,
    );
    await parseResponse(res, `PUT artifact ${remotePath}`);
  }

  async endRun(runId: string, status: RunStatus, endTime: number): Promise<void> {
    await this.call('POST', 'runs/update', { run_id: runId, status, end_time: endTime });
  }

  async close(): Promise<void> {}
}

async function parseResponse<T>(res: Response, what: string): Promise<T> {
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = undefined;
  }
  if (res.ok) return body as T;
  const err = body as { error_code?: string; message?: string } | undefined;
  const code: ErrorCode =
    err?.error_code && err.error_code in ERROR_CODES
      ? (err.error_code as ErrorCode)
      : codeOfStatus(res.status);
  throw new KeelError(code, err?.message ?? `${what} failed with HTTP ${res.status}: ${text.slice(0, 200)}`);
}

/** A code for an answer without one Keel knows (a proxy's page, another server's code): by status. */
function codeOfStatus(status: number): ErrorCode {
  if (status === 404) return 'RESOURCE_DOES_NOT_EXIST';
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 403) return 'PERMISSION_DENIED';
  if (status === 429) return 'REQUEST_LIMIT_EXCEEDED';
  if ([408, 502, 503, 504].includes(status)) return 'TEMPORARILY_UNAVAILABLE';
  return status >= 400 && status < 500 ? 'BAD_REQUEST' : 'INTERNAL_ERROR';
}
