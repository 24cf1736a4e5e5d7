/**
 * MLflow's routes answer only error codes the MLflow client knows (its `ErrorCode` enumeration,
 * recorded from MLflow's source in fixtures/mlflow-error-codes.json), with statuses it does not
 * retry unless retrying can help; Keel's own routes keep Keel's richer codes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode, KeelError } from '../../src/core/index.js';
import type { Policy } from '../../src/registry/index.js';
import { toMlflowError } from '../../src/server/errors.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { trainedRun } from '../registry/fixtures.js';

const fixture = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'mlflow-error-codes.json'), 'utf8'),
) as {
  errorCode: { values: Record<string, number> };
  httpStatus: { values: Record<string, number> };
  transientStatuses: { values: number[] };
};
const KNOWN = new Set(Object.keys(fixture.errorCode.values));
const TRANSIENT = new Set(fixture.transientStatuses.values);

/** Every Keel code, what it answers on MLflow's routes, and whether a retry can help. */
const EXPECTED: Record<ErrorCode, [code: string, status: number, retryable: boolean]> = {
  INVALID_PARAMETER_VALUE: ['INVALID_PARAMETER_VALUE', 400, false],
  BAD_REQUEST: ['BAD_REQUEST', 400, false],
  RESOURCE_ALREADY_EXISTS: ['RESOURCE_ALREADY_EXISTS', 400, false],
  RESOURCE_DOES_NOT_EXIST: ['RESOURCE_DOES_NOT_EXIST', 404, false],
  UNAUTHENTICATED: ['UNAUTHENTICATED', 401, false],
  PERMISSION_DENIED: ['PERMISSION_DENIED', 403, false],
  REQUEST_LIMIT_EXCEEDED: ['REQUEST_LIMIT_EXCEEDED', 429, true],
  UNSUPPORTED_MEDIA_TYPE: ['BAD_REQUEST', 415, false],
  FAILED_PRECONDITION: ['INVALID_STATE', 400, false],
  DATA_VALIDATION_FAILED: ['INVALID_PARAMETER_VALUE', 400, false],
  EXECUTION_FAILED: ['INTERNAL_ERROR', 500, true],
  INVALID_STATE: ['INVALID_STATE', 500, true],
  INTERNAL_ERROR: ['INTERNAL_ERROR', 500, true],
  TEMPORARILY_UNAVAILABLE: ['TEMPORARILY_UNAVAILABLE', 503, true],
};

describe('Keel error codes on MLflow routes', () => {
  it('maps every Keel code to a code in MLflow enumeration, at MLflow status unless that would retry', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [keel, [code, status, retryable]] of Object.entries(EXPECTED)) {
      const e = toMlflowError(new KeelError(keel as ErrorCode, 'x'));
      expect({ keel, code: e.mlflowCode, status: e.status }).toEqual({ keel, code, status });
      expect(KNOWN.has(code), `${code} is in MLflow's ErrorCode`).toBe(true);
      expect(TRANSIENT.has(status), `${keel} answers a status the client retries`).toBe(retryable);
      // MLflow's own status for the code, except where that status would make the client retry
      // an error no retry cures (INVALID_STATE is 500 in MLflow) or a 415 says more than 400.
      if (keel !== 'FAILED_PRECONDITION' && keel !== 'UNSUPPORTED_MEDIA_TYPE')
        expect(fixture.httpStatus.values[code]).toBe(status);
    }
  });

  it('keeps the status of Fastify errors and hides internal messages', () => {
    const tooLarge = Object.assign(new Error('body'), {
      code: 'FST_ERR_CTP_BODY_TOO_LARGE',
      statusCode: 413,
    });
    expect(toMlflowError(tooLarge)).toMatchObject({ status: 413, mlflowCode: 'REQUEST_LIMIT_EXCEEDED' });
    expect(toMlflowError(new TypeError('secret'))).toMatchObject({
      status: 500,
      mlflowCode: 'INTERNAL_ERROR',
      message: 'Internal server error',
    });
  });
});

/** Staging asks for two gates the fixture run fails: no roc_auc metric, disparate impact 0.92. */
const POLICY: Policy = {
  productionAlias: 'champion',
  stages: {
    Staging: {
      requireApproval: false,
      gates: [
        { kind: 'metric', metric: 'roc_auc', op: '>=', value: 0.85 },
        { kind: 'bias', metric: 'disparate_impact', min: 0.95 },
      ],
    },
  },
};

describe('a failed gate over HTTP', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', undefined, undefined, { policy: POLICY });
    const runId = await trainedRun(s.tracking);
    await s.call('POST', '/api/2.0/mlflow/registered-models/create', { name: 'churn' });
    const mv = await s.call('POST', '/api/2.0/mlflow/model-versions/create', {
      name: 'churn',
      source: `runs:/${runId}/model`,
      run_id: runId,
    });
    expect(mv.status).toBe(200);
  });
  afterAll(async () => s.close());

  it.each(['/api/2.0/mlflow', '/ajax-api/2.0/mlflow'])(
    'answers INVALID_STATE, 400, naming every failed gate, on %s',
    async (prefix) => {
      const res = await s.call('POST', `${prefix}/model-versions/transition-stage`, {
        name: 'churn',
        version: '1',
        stage: 'Staging',
        archive_existing_versions: false,
      });
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe('INVALID_STATE');
      expect(res.body.message).toMatch(/roc_auc/);
      expect(res.body.message).toMatch(/disparate_impact/);
    },
  );

  it("answers Keel's FAILED_PRECONDITION, 409, with every gate's result on Keel's route", async () => {
    const res = await s.call('POST', '/api/2.0/keel/registry/promote', {
      name: 'churn',
      version: '1',
      stage: 'Staging',
    });
    expect(res.status).toBe(409);
    expect(res.body.error_code).toBe('FAILED_PRECONDITION');
    expect(res.body.gates).toHaveLength(2);
  });
});

/** Every route `printRoutes` shows, as [method, path], with path parameters filled in. */
function routesOf(tree: string): Array<[string, string]> {
  const stack: string[] = [];
  const out: Array<[string, string]> = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (.*?)(?: \(([^)]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1].length / 4;
    stack[depth] = (depth > 0 ? stack[depth - 1] : '') + m[2];
    stack.length = depth + 1;
    for (const method of m[3]?.split(', ') ?? []) {
      if (method !== 'HEAD') out.push([method, stack[depth].replace(/:\w+|\*/g, 'x')]);
    }
  }
  return out;
}

describe('bad requests to every MLflow route', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => s.close());

  it('answer only codes the MLflow client knows', async () => {
    const routes = routesOf(s.app.printRoutes({ commonPrefix: false })).filter(([, path]) =>
      /^\/(ajax-)?api\/2\.0\/mlflow/.test(path),
    );
    expect(routes.length).toBeGreaterThan(60);
    const unknown: string[] = [];
    let errors = 0;
    for (const [method, path] of routes) {
      const bodies: Array<[string | undefined, string | undefined]> =
        method === 'GET'
          ? [[undefined, undefined]]
          : [
              ['{}', 'application/json'],
              ['{"name": 5, "run_id": [], "experiment_id": {}}', 'application/json'],
              ['{', 'application/json'],
              ['x', 'text/plain'],
            ];
      for (const [body, type] of bodies) {
        const res = await fetch(`${s.url}${path}${method === 'GET' ? '?max_results=-1' : ''}`, {
          method,
          headers: type ? { 'content-type': type } : {},
          body,
        });
        if (res.status < 400) continue;
        errors++;
        const text = await res.text();
        let code: unknown;
        try {
          code = (JSON.parse(text) as { error_code?: unknown }).error_code;
        } catch {
          code = `(not JSON: ${text.slice(0, 40)})`;
        }
        if (typeof code !== 'string' || !KNOWN.has(code)) unknown.push(`${method} ${path}: ${String(code)}`);
      }
    }
    expect(errors).toBeGreaterThan(routes.length);
    expect(unknown).toEqual([]);
  });

  it('answers UNAUTHENTICATED without a token under --auth, on MLflow and ajax routes', async () => {
    const authed = await startTestServer('sqlite', undefined, undefined, { auth: true });
    try {
      for (const prefix of ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow']) {
        const res = await authed.call('GET', `${prefix}/experiments/get?experiment_id=0`);
        expect(res).toMatchObject({ status: 401, body: { error_code: 'UNAUTHENTICATED' } });
      }
    } finally {
      await authed.close();
    }
  });
});
