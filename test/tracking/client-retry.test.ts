/**
 * The HTTP tracking client against a real loopback proxy in front of `keel serve` that fails
 * requests on purpose (503, 429, 502 pages, reset sockets, requests never answered, whole outages):
 * it retries as MLflow's client does, keeps and resends what it could not send, logs nothing twice,
 * and always ends the run on the server.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  backoffMs,
  DEFAULT_RETRY,
  retryAfterMs,
  retryOptionsFromEnv,
} from '../../src/tracking/http-retry.js';
import { httpTrackingClient } from '../../src/tracking/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

type Fault = 'reset' | 'hang' | 429 | 502 | 503;

/** A proxy that fails the next requests to a path as scripted, or all of them while `down`. */
class FlakyProxy {
  url = '';
  readonly faults = new Map<string, Fault[]>();
  /** Paths whose every request fails with 503 until cleared. */
  readonly down = new Set<string>();
  /** Requests forwarded to the server, by path. */
  readonly forwarded = new Map<string, number>();
  private server!: Server;

  constructor(private readonly upstream: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0].replace('/api/2.0/mlflow/', '');
      const fault: Fault | undefined = this.down.has(path) ? 503 : this.faults.get(path)?.shift();
      if (fault === 'reset') return void req.socket.destroy();
      if (fault === 'hang') return; // never answered: the client's timeout must give up on it
      if (fault !== undefined) {
        req.resume();
        const json = fault !== 502;
        res.writeHead(fault, {
          'content-type': json ? 'application/json' : 'text/html',
          ...(fault === 429 ? { 'retry-after': '0' } : {}),
        });
        res.end(
          json
            ? JSON.stringify({
                error_code: fault === 429 ? 'REQUEST_LIMIT_EXCEEDED' : 'TEMPORARILY_UNAVAILABLE',
                message: 'injected',
              })
            : '<html>bad gateway</html>',
        );
        return;
      }
      this.forward(req, path).then(
        ({ status, type, body }) => {
          res.writeHead(status, { 'content-type': type });
          res.end(body);
        },
        () => res.destroy(),
      );
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async forward(req: IncomingMessage, path: string) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    this.forwarded.set(path, (this.forwarded.get(path) ?? 0) + 1);
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const res = await fetch(`${this.upstream}${req.url}`, {
      method: req.method,
      headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
      body: hasBody ? Buffer.concat(chunks) : undefined,
    });
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? 'application/json',
      body: Buffer.from(await res.arrayBuffer()),
    };
  }

  reset(): void {
    this.faults.clear();
    this.down.clear();
    this.forwarded.clear();
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('the tracking client over a failing network', () => {
  let keel: TestServer;
  let proxy: FlakyProxy;
  beforeAll(async () => {
    keel = await startTestServer();
    proxy = new FlakyProxy(keel.url);
    await proxy.start();
  });
  afterAll(async () => {
    await proxy.close();
    await keel.close();
  });
  afterEach(() => proxy.reset());

  const fast = { maxRetries: 4, backoffFactorMs: 5, backoffJitterMs: 5, timeoutMs: 2000 };
  const points = async (runId: string, key: string) =>
    (await keel.tracking.runs.metricHistory(runId, key, { maxResults: 100_000 })).items;

  it('retries 502, 503, 429 and reset sockets, and logs every point once', async () => {
    proxy.faults.set('runs/create', [502]);
    proxy.faults.set('runs/log-batch', [503, 'reset', 429]);
    proxy.faults.set('runs/update', ['reset']);
    const run = await httpTrackingClient(proxy.url, undefined, fast).startRun({ experiment: 'retry' });
    for (let step = 0; step < 2500; step++) await run.logMetrics({ loss: step }, { step });
    await run.end();
    const loss = await points(run.runId, 'loss');
    expect(loss.map((p) => p.step)).toEqual(Array.from({ length: 2500 }, (_, i) => i));
    expect(proxy.forwarded.get('runs/log-batch')).toBe(3);
    expect((await keel.tracking.runs.get(run.runId)).info.status).toBe('FINISHED');
  });

  it('gives up on a request that is never answered, and sends it again', async () => {
    proxy.faults.set('runs/log-batch', ['hang']);
    const run = await httpTrackingClient(proxy.url, undefined, { ...fast, timeoutMs: 300 }).startRun({
      experiment: 'retry',
    });
    await run.logMetrics({ auc: 0.9 }, { step: 1 });
    await run.end();
    expect((await points(run.runId, 'auc')).map((p) => p.value)).toEqual([0.9]);
  });

  it('keeps batches through an outage, goes on logging, and resends them in order', async () => {
    const run = await httpTrackingClient(proxy.url, undefined, { ...fast, maxRetries: 1 }).startRun({
      experiment: 'outage',
    });
    proxy.down.add('runs/log-batch');
    await run.setTags({ phase: 'first' });
    // Full buffers flush by themselves and fail: logging neither throws nor loses anything.
    for (let step = 0; step < 2500; step++) await run.logMetrics({ loss: step }, { step });
    await run.setTags({ phase: 'second' });
    await expect(run.flush()).rejects.toMatchObject({ code: 'TEMPORARILY_UNAVAILABLE' });
    expect(proxy.forwarded.get('runs/log-batch')).toBeUndefined();

    proxy.down.clear();
    await run.flush();
    expect((await points(run.runId, 'loss')).map((p) => p.step)).toEqual(
      Array.from({ length: 2500 }, (_, i) => i),
    );
    const tags = (await keel.tracking.runs.get(run.runId)).data.tags;
    expect(tags.find((t) => t.key === 'phase')?.value).toBe('second');
    await run.end();
  });

  it("always ends the run with end('FAILED'), then reports the batch it could not send", async () => {
    const run = await httpTrackingClient(proxy.url, undefined, { ...fast, maxRetries: 1 }).startRun({
      experiment: 'crash',
    });
    proxy.down.add('runs/log-batch');
    await run.logMetrics({ loss: 1.5 }, { step: 7 });
    await expect(run.end('FAILED')).rejects.toMatchObject({ code: 'TEMPORARILY_UNAVAILABLE' });
    const info = (await keel.tracking.runs.get(run.runId)).info;
    expect(info.status).toBe('FAILED');
    expect(info.end_time).toBeGreaterThan(0);
    // The batch was kept: once the server takes batches again, a flush delivers it.
    proxy.down.clear();
    await run.flush();
    expect((await points(run.runId, 'loss')).map((p) => p.step)).toEqual([7]);
    await expect(run.logMetrics({ late: 1 })).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });

  it('drops a batch the server refuses, reports it, and sends the later ones', async () => {
    const run = await httpTrackingClient(proxy.url, undefined, fast).startRun({ experiment: 'refused' });
    await run.logParams({ lr: 0.1 });
    await run.flush();
    await run.logParams({ lr: 0.2 });
    await expect(run.flush()).rejects.toMatchObject({ code: 'INVALID_PARAMETER_VALUE' });
    await run.logMetrics({ auc: 0.8 });
    await run.end();
    expect((await points(run.runId, 'auc')).map((p) => p.value)).toEqual([0.8]);
  });
});

describe('retry timing, as MLflow client and urllib3 compute it', () => {
  it('waits nothing before the first retry, then doubles from the factor, with jitter, up to 120 s', () => {
    const half = () => 0.5;
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffMs(n, DEFAULT_RETRY, half))).toEqual([
      0, 4500, 8500, 16_500, 32_500, 64_500, 120_000, 120_000,
    ]);
  });

  it("reads Retry-After as seconds or a date, and the MLflow client's environment variables", () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(Date.UTC(2030, 0, 1, 0, 0, 10)).toUTCString(), Date.UTC(2030, 0, 1))).toBe(
      10_000,
    );
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(
      retryOptionsFromEnv({
        MLFLOW_HTTP_REQUEST_TIMEOUT: '30',
        MLFLOW_HTTP_REQUEST_MAX_RETRIES: '2',
        MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '1',
        MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: '0.5',
      }),
    ).toEqual({ timeoutMs: 30_000, maxRetries: 2, backoffFactorMs: 1000, backoffJitterMs: 500 });
    expect(retryOptionsFromEnv({})).toEqual({});
    expect(() => retryOptionsFromEnv({ MLFLOW_HTTP_REQUEST_MAX_RETRIES: '1.5' })).toThrow(
      /MLFLOW_HTTP_REQUEST_MAX_RETRIES='1.5'/,
    );
  });
});
