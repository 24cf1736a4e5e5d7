/**
 * @module deploy/endpoint-probe
 * The integration test of a deployed `keel serve` (`keel probe`): wait until the endpoint is ready
 * and serves the expected version of a model (a promotion reaches the replicas within their
 * refresh interval, so a deploy is not instant), then score a known request through MLflow's
 * `/invocations` and check that every row got a prediction. A CI step runs it against the staging
 * endpoint after deploying there, and against production after the promotion.
 */

import { z } from 'zod';
import { KeelError, parseInput } from '../core/index.js';

export interface ProbeOptions {
  /** The server's base URL, e.g. https://keel-staging.example (a trailing slash is fine). */
  url: string;
  /** The served model's name (the `/invocations?model=` a client sends). */
  model: string;
  /** The version the endpoint must serve; any version when undefined. */
  version?: string;
  /** An MLflow scoring request (JSON): dataframe_split, dataframe_records, instances or inputs. */
  body: string;
  /** Sent as `Authorization: Bearer` (a `keel serve --auth` endpoint needs a reader). */
  token?: string;
  /** How long to wait for the endpoint to be ready at the version (ms). */
  waitMs: number;
  /** Between two readiness checks (ms); default 1000. */
  intervalMs?: number;
  /** Each HTTP request's own deadline (ms); default 10,000. */
  requestTimeoutMs?: number;
}

export interface ProbeResult {
  url: string;
  model: string;
  version: string;
  rows: number;
  predictions: unknown[];
  /** Readiness checks made before the endpoint served the version. */
  checks: number;
}

const served = z.object({
  status: z.string(),
  checks: z
    .object({
      models: z.object({ served: z.array(z.object({ name: z.string(), version: z.string() })) }).optional(),
    })
    .optional(),
});

const scoringRequest = z.union([
  z.object({ dataframe_split: z.object({ data: z.array(z.unknown()) }) }),
  z.object({ dataframe_records: z.array(z.unknown()) }),
  z.object({ instances: z.array(z.unknown()) }),
  z.object({ inputs: z.union([z.array(z.unknown()), z.record(z.string(), z.array(z.unknown()))]) }),
]);

/**
 * How many rows an MLflow scoring request holds (the count of predictions it must get back).
 * @throws KeelError INVALID_PARAMETER_VALUE when `body` is not such a request.
 */
export function requestRows(body: string): number {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `the probe request is not JSON: ${(err as Error).message}`,
    );
  }
  const req = parseInput(scoringRequest, doc, 'the probe request (an MLflow /invocations body)');
  if ('dataframe_split' in req) return req.dataframe_split.data.length;
  if ('dataframe_records' in req) return req.dataframe_records.length;
  if ('instances' in req) return req.instances.length;
  const inputs = req.inputs;
  return Array.isArray(inputs) ? inputs.length : (Object.values(inputs)[0]?.length ?? 0);
}

/**
 * Probes a running `keel serve`.
 * @throws KeelError TEMPORARILY_UNAVAILABLE when the endpoint is not ready within `waitMs`;
 *   FAILED_PRECONDITION when it serves another version (or not the model) by then, or answers the
 *   scoring request wrongly; INVALID_PARAMETER_VALUE for a request that is not a scoring request.
 */
export async function probeEndpoint(options: ProbeOptions): Promise<ProbeResult> {
  const rows = requestRows(options.body);
  if (rows === 0) throw new KeelError('INVALID_PARAMETER_VALUE', 'the probe request holds no row');
  const base = options.url.replace(/\/+$/, '');
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  const timeout = options.requestTimeoutMs ?? 10_000;
  const { version, checks } = await waitServing(base, headers, options, timeout);

  const res = await request(`${base}/invocations?model=${encodeURIComponent(options.model)}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: options.body,
    signal: AbortSignal.timeout(timeout),
  });
  const text = await res.text();
  if (res.status !== 200) {
    throw new KeelError(
      'FAILED_PRECONDITION',
      `${base}/invocations answered ${res.status} for ${options.model}: ${text.slice(0, 500)}`,
    );
  }
  const predictions = (JSON.parse(text) as { predictions?: unknown }).predictions;
  if (!Array.isArray(predictions) || predictions.length !== rows) {
    throw new KeelError(
      'FAILED_PRECONDITION',
      `${base}/invocations answered ${Array.isArray(predictions) ? predictions.length : 'no'} predictions for ${rows} rows`,
    );
  }
  return { url: base, model: options.model, version, rows, predictions, checks };
}

/** Polls `/ready` until it reports the model at the wanted version, or the wait runs out. */
async function waitServing(
  base: string,
  headers: Record<string, string>,
  options: ProbeOptions,
  timeout: number,
): Promise<{ version: string; checks: number }> {
  const deadline = Date.now() + options.waitMs;
  let last = 'never answered';
  let wrongVersion = false;
  for (let checks = 1; ; checks++) {
    try {
      const res = await request(`${base}/ready`, { headers, signal: AbortSignal.timeout(timeout) });
      const report = served.safeParse(await res.json().catch(() => undefined));
      const models = report.success ? (report.data.checks?.models?.served ?? []) : [];
      const model = models.find((m) => m.name === options.model);
      wrongVersion = false;
      if (res.status !== 200)
        last = `answered ${res.status} (${report.success ? report.data.status : 'no report'})`;
      else if (!model) {
        wrongVersion = true;
        last = `serves ${models.map((m) => `${m.name} ${m.version}`).join(', ') || 'no model'}, not ${options.model}`;
      } else if (options.version !== undefined && model.version !== options.version) {
        wrongVersion = true;
        last = `serves ${options.model} version ${model.version}, not ${options.version}`;
      } else return { version: model.version, checks };
    } catch (err) {
      last = `did not answer: ${(err as Error).message}`;
    }
    if (Date.now() >= deadline) {
      throw new KeelError(
        wrongVersion ? 'FAILED_PRECONDITION' : 'TEMPORARILY_UNAVAILABLE',
        `${base} ${last} after ${Math.round(options.waitMs / 1000)} s`,
      );
    }
    await new Promise((r) =>
      setTimeout(r, Math.min(options.intervalMs ?? 1000, Math.max(0, deadline - Date.now()))),
    );
  }
}

/** fetch, with a refused connection or a timeout told as the endpoint's unavailability. */
async function request(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    throw new KeelError('TEMPORARILY_UNAVAILABLE', `${url}: ${cause ?? (err as Error).message}`, {
      cause: err,
    });
  }
}
