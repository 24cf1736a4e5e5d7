/**
 * Bad input the fuzz found reaching 500, each answered 4xx on SQLite and PostgreSQL alike, with
 * nothing stored: NUL bytes, int64 strings out of range, field names that are Object.prototype's
 * (`constructor`, `__proto__`, `toString`) in order_by, filters, feature services and push
 * sources, `%` in artifact names (decoded exactly once, as MLflow's server does), path segments
 * over 255 bytes, webhooks' max_results. A 500 or 503 that does happen names no SQL, driver
 * message or database address.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalArtifactStore } from '../../src/artifacts/index.js';
import { Registry } from '../../src/registry/index.js';
import { buildApp } from '../../src/server/index.js';
import { openDatabase } from '../../src/storage/index.js';
import { Tracking } from '../../src/tracking/index.js';
import { POSTGRES_URL, serviceUrl } from '../helpers/services.js';
import { type Backend, tempDir } from '../helpers/tracking.js';
import { rawRequest } from './raw-http.js';
import { securityWorld, type World } from './world.js';

const postgres = await serviceUrl('postgres');

interface Answer {
  status: number;
  body: Record<string, unknown> & { message?: string; error_code?: string };
  text: string;
}

for (const backend of ['sqlite', 'postgres'] as Backend[]) {
  describe.skipIf(backend === 'postgres' && !postgres)(`bad input on ${backend}`, () => {
    let w: World;
    const call = async (method: string, target: string, body?: unknown): Promise<Answer> => {
      const res = await rawRequest(w.url, method, target, {
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      let parsed: Answer['body'] = {};
      try {
        parsed = JSON.parse(res.body);
      } catch {}
      return { status: res.status, body: parsed, text: res.body };
    };
    const api = (path: string) => `/api/2.0/mlflow/${path}`;
    const refused = (a: Answer, status: number, field?: string | RegExp) => {
      expect(a.status, a.text).toBe(status);
      // Feast's routes answer Feast's error detail: a JSON string holding {module, class, message}.
      const message = typeof a.body === 'string' ? JSON.parse(a.body).message : a.body.message;
      if (field) expect(message).toMatch(field);
    };

    beforeAll(async () => {
      w = await securityWorld(backend, backend === 'postgres' ? (postgres ?? POSTGRES_URL) : undefined);
    }, 120_000);
    afterAll(async () => w?.close());

    it('refuses NUL bytes in any string with 400 naming the field, and stores nothing', async () => {
      const before = await w.snapshot();
      refused(await call('POST', api('experiments/create'), { name: 'a\u0000b' }), 400, /name.*NUL/);
      refused(
        await call('POST', api('runs/log-parameter'), { run_id: w.ids.runId, key: 'k', value: 'v\u0000' }),
        400,
        /value.*NUL/,
      );
      refused(await call('GET', api('logged-models/a%00b')), 400, /model_id.*NUL/);
      refused(
        await call('POST', api('registered-models/create'), { name: 'x', description: 'a\u0000' }),
        400,
        /description.*NUL/,
      );
      refused(
        await call('GET', `${api('registered-models/search')}?filter=name%3D%27a%00%27`),
        400,
        /filter/,
      );
      refused(
        await call('POST', '/get-online-features', {
          features: ['activity:orders'],
          entities: { customer_id: ['a\u0000'] },
        }),
        // Feast's feature server answers a body that does not fit its schema 422 (FastAPI).
        422,
        /customer_id.*NUL/,
      );
      expect(await w.snapshot()).toBe(before);
    });

    it('refuses int64 values beyond what it can hold exactly, naming the field', async () => {
      const metric = (timestamp: unknown, step: unknown = 0) =>
        call('POST', api('runs/log-metric'), { run_id: w.ids.runId, key: 'm', value: 1, timestamp, step });
      refused(await metric('9223372036854775808'), 400, /timestamp/);
      refused(await metric('1'.repeat(400)), 400, /timestamp/);
      refused(await metric(1, '-9223372036854775809'), 400, /step/);
      refused(
        await call(
          'POST',
          api('runs/log-metric'),
          `{"run_id":"${w.ids.runId}","key":"m","value":1,"timestamp":9223372036854775808}`,
        ),
        400,
        /timestamp/,
      );
      expect((await metric('9007199254740991')).status).toBe(200);
      refused(
        await call('POST', api('runs/search'), {
          experiment_ids: [w.ids.experimentId],
          max_results: '9223372036854775808',
        }),
        400,
        /max_results/,
      );
      refused(
        await call('POST', '/api/2.0/keel/registry/approve', { request_id: '9'.repeat(30) }),
        400,
        /request_id/,
      );
    });

    it('answers field names of Object.prototype with 400 or 404, never a database error', async () => {
      for (const key of ['constructor', '__proto__', 'toString']) {
        refused(await call('GET', `${api('model-versions/search')}?order_by=${key}`), 400, new RegExp(key));
        refused(
          await call('GET', `${api('registered-models/search')}?order_by=${key}%20DESC`),
          400,
          new RegExp(key),
        );
        refused(
          await call('GET', `${api('registered-models/search')}?filter=${key}%20%3D%20%27x%27`),
          400,
          new RegExp(key),
        );
        const runs = { experiment_ids: [w.ids.experimentId] };
        refused(
          await call('POST', api('runs/search'), { ...runs, order_by: [`attributes.${key}`] }),
          400,
          new RegExp(key),
        );
        refused(
          await call('POST', api('runs/search'), { ...runs, filter: `attributes.${key} = 'x'` }),
          400,
          new RegExp(key),
        );
        refused(await call('POST', api('runs/search'), { ...runs, filter: `${key}.x = 'y'` }), 400);
        refused(await call('POST', api('runs/search'), { ...runs, filter: `datasets.${key} = 'y'` }), 400);
        expect(
          (await call('POST', api('runs/search'), { ...runs, filter: `params.${key} = '1'` })).status,
        ).toBe(200);
        refused(await call('POST', api('experiments/search'), { order_by: [key] }), 400, new RegExp(key));
        refused(await call('POST', api('experiments/search'), { filter: `attributes.${key} = 'x'` }), 400);
        const models = { experiment_ids: [w.ids.experimentId] };
        refused(
          await call('POST', api('logged-models/search'), { ...models, order_by: [{ field_name: key }] }),
          400,
        );
        refused(await call('POST', api('logged-models/search'), { ...models, filter: `${key} = 'x'` }), 400);
        const entities = { customer_id: [1] };
        refused(
          await call('POST', '/get-online-features', { feature_service: key, entities }),
          404,
          new RegExp(key),
        );
        refused(await call('POST', '/get-online-features', { features: [`${key}:orders`], entities }), 404);
        refused(await call('POST', '/get-online-features', { features: [`activity:${key}`], entities }), 404);
        refused(
          await call('POST', '/online-features', {
            features: [`activity:${key}`],
            entities: [{ customer_id: 1 }],
          }),
          404,
        );
        refused(
          await call('POST', '/push', { push_source_name: key, df: { customer_id: [1] } }),
          // Feast answers an unknown push source 422 (PushSourceNotFoundException).
          422,
          new RegExp(key),
        );
      }
    });

    it("decodes '%' in artifact paths exactly once, as MLflow's client and server do", async () => {
      const put = (path: string, body: string) =>
        rawRequest(w.url, 'PUT', `/api/2.0/mlflow-artifacts/artifacts/pct/${path}`, {
          headers: { 'content-type': 'application/octet-stream' },
          body,
        });
      expect((await put('100%25.txt', 'hundred')).status).toBe(200);
      expect((await put('a%2541.txt', 'a41')).status).toBe(200);
      const listed = await call('GET', '/api/2.0/mlflow-artifacts/artifacts?path=pct');
      expect((listed.body.files as Array<{ path: string }>).map((f) => f.path)).toEqual([
        '100%.txt',
        'a%41.txt',
      ]);
      expect(
        (await rawRequest(w.url, 'GET', '/api/2.0/mlflow-artifacts/artifacts/pct/100%25.txt')).body,
      ).toBe('hundred');
      expect(
        (await rawRequest(w.url, 'GET', '/api/2.0/mlflow-artifacts/artifacts/pct/a%2541.txt')).body,
      ).toBe('a41');
      const undecodable = await put('%zz.txt', 'x');
      expect(undecodable.status).toBe(400);
      expect(JSON.parse(undecodable.body)).toMatchObject({ error_code: 'BAD_REQUEST' });
      expect((await put('x%2F..%2F..%2Fy', 'x')).status).toBe(400);
    });

    it('refuses path segments over 255 bytes with 400, and takes 255', async () => {
      const long = encodeURIComponent('é'.repeat(128));
      const put = await rawRequest(w.url, 'PUT', `/api/2.0/mlflow-artifacts/artifacts/long/${long}`, {
        headers: { 'content-type': 'application/octet-stream' },
        body: 'x',
      });
      expect(put.status).toBe(400);
      expect(put.body).toMatch(/255 bytes/);
      expect(
        (await rawRequest(w.url, 'GET', `/api/2.0/mlflow-artifacts/artifacts/long/${long}`)).status,
      ).toBe(400);
      expect(
        (await rawRequest(w.url, 'DELETE', `/api/2.0/mlflow-artifacts/artifacts/long/${long}`)).status,
      ).toBe(400);
      expect((await call('GET', `/api/2.0/mlflow-artifacts/artifacts?path=${long}`)).status).toBe(400);
      expect((await call('GET', `${api('artifacts/list')}?run_id=${w.ids.runId}&path=${long}`)).status).toBe(
        400,
      );
      const fits = encodeURIComponent(`${'é'.repeat(127)}x`);
      const ok = await rawRequest(w.url, 'PUT', `/api/2.0/mlflow-artifacts/artifacts/long/${fits}`, {
        headers: { 'content-type': 'application/octet-stream' },
        body: 'x',
      });
      expect(ok.status).toBe(200);
    });

    it("checks webhooks' max_results", async () => {
      for (const max of ['0', '-5', '1001', 'abc', '9223372036854775808'])
        refused(await call('GET', `${api('webhooks')}?max_results=${max}`), 400, /max_results/);
      expect((await call('GET', `${api('webhooks')}?max_results=1000`)).status).toBe(200);
    });

    it('answers a database failure with 500 naming no SQL, table or driver message', async () => {
      await w.tracking.db.exec('DROP TABLE model_version_tags');
      const res = await call('GET', `${api('model-versions/get')}?name=churn&version=1`);
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error_code: 'INTERNAL_ERROR', message: 'Internal server error' });
    });
  });
}

describe('an unreachable database', () => {
  it('answers 503 without naming the database address', async () => {
    const db = await openDatabase({ type: 'postgres', url: 'postgres://keel:secret@127.0.0.1:9/keel' });
    const tracking = new Tracking(db, new LocalArtifactStore(join(tempDir(), 'artifacts')));
    const app = await buildApp({ services: { tracking, registry: new Registry(tracking) }, logger: false });
    try {
      const res = await app.inject({ method: 'GET', url: '/api/2.0/mlflow/experiments/get?experiment_id=0' });
      expect(res.statusCode).toBe(503);
      expect(res.json().error_code).toBe('TEMPORARILY_UNAVAILABLE');
      expect(res.body).not.toMatch(/127\.0\.0\.1|:9\b|secret|ECONNREFUSED/);
    } finally {
      await app.close();
      await db.close();
    }
  });
});
