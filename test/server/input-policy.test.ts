/**
 * Serving clients see the schema and the input policy: OIP metadata names a model's columns, their
 * types and a categorical column's categories; an unseen category and a row with its features
 * missing are reported in the answer of every scoring route and counted on /metrics, and the
 * model's policy (keel.yaml `serving.inputPolicy`, per model under `serving.models`) decides
 * whether they are scored or the request is refused. Two servers over one registry: one with the
 * default policy, one strict.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx, META_CATEGORIES, predictGbdt } from '../../src/ml/index.js';
import { buildApp } from '../../src/server/index.js';
import { ModelServer } from '../../src/serving/index.js';
import { requestJson } from '../helpers/server.js';
import { type ServedWorld, servedWorld } from '../helpers/serving.js';
import { COLOURS, MODEL_COLUMNS, trainModel } from '../serving/fixtures.js';

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

describe('input schema and policy over HTTP', () => {
  const gbdt = trainModel();
  let world: ServedWorld;
  const servers: ModelServer[] = [];
  const apps: FastifyInstance[] = [];
  /** Base URLs: the default policy, and a strict one. */
  let lenient: string;
  let strict: string;

  const send = (base: string, method: string, path: string, body?: unknown): Promise<Reply> =>
    requestJson(base, method, path, body);
  /** What the model gives a row of (a, colour code or NaN, b). */
  const expected = (a: number, code: number, b: number) =>
    predictGbdt(gbdt, {
      names: MODEL_COLUMNS,
      columns: [Float64Array.of(Math.fround(a)), Float64Array.of(code), Float64Array.of(Math.fround(b))],
    })[0];

  async function serve(policies: Parameters<typeof ModelServer.start>[0]['inputPolicies']): Promise<string> {
    const serving = await ModelServer.start({
      registry: world.registry,
      features: world.store,
      models: ['models:/churn/1', 'models:/colours/1'],
      refreshIntervalMs: 0,
      inputPolicies: policies,
    });
    servers.push(serving);
    const app = await buildApp({
      services: { tracking: world.tracking, registry: world.registry, features: world.store, serving },
      logger: false,
    });
    apps.push(app);
    return app.listen({ host: '127.0.0.1', port: 0 });
  }

  beforeAll(async () => {
    const bytes = exportOnnx(gbdt, { metadata: { [META_CATEGORIES]: JSON.stringify({ colour: COLOURS }) } });
    world = await servedWorld({ colours: bytes });
    lenient = await serve(undefined);
    strict = await serve({
      default: { unseenCategory: 'refuse', maxMissingShare: 0.5 },
      models: { churn: { allMissing: 'score' } },
    });
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const s of servers) await s.close();
    await world?.close();
  });

  it('names the columns, their types and categories, and the policy in OIP metadata', async () => {
    const meta = await send(lenient, 'GET', '/v2/models/colours');
    expect(meta.status).toBe(200);
    expect(meta.body).toMatchObject({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 3] }],
      columns: [
        { name: 'a', index: 0, type: 'number', datatype: 'FP64' },
        { name: 'colour', index: 1, type: 'category', datatype: 'BYTES', categories: COLOURS },
        { name: 'b', index: 2, type: 'number', datatype: 'FP64' },
      ],
      input_policy: { unseen_category: 'score-as-missing', all_missing: 'refuse', max_missing_share: 1 },
    });
    const strictMeta = await send(strict, 'GET', '/v2/models/colours/versions/1');
    expect(strictMeta.body.input_policy).toEqual({
      unseen_category: 'refuse',
      all_missing: 'refuse',
      max_missing_share: 0.5,
    });
    expect((await send(strict, 'GET', '/v2/models/churn')).body.input_policy).toMatchObject({
      all_missing: 'score',
    });
  });

  it('scores an unseen category as missing by default, and says so on every route', async () => {
    const purple = {
      row: 0,
      issue: 'unseen_category',
      column: 'colour',
      value: 'purple',
      action: 'scored_as_missing',
    };
    const rows = [
      { a: 0.5, colour: 'purple', b: 3 },
      { a: 0.5, colour: 'red', b: 3 },
    ];
    const want = [expected(0.5, Number.NaN, 3), expected(0.5, 2, 3)];

    const mlflow = await send(lenient, 'POST', '/invocations?model=colours', { dataframe_records: rows });
    expect(mlflow.status, JSON.stringify(mlflow.body)).toBe(200);
    expect(mlflow.body.input_issues).toEqual([purple]);
    const close = (got: number[]) => {
      for (const [i, p] of got.entries()) expect(p, `row ${i}`).toBeCloseTo(want[i], 6);
    };
    close(mlflow.body.predictions as number[]);

    const predict = await send(lenient, 'POST', '/predict', { model: 'colours', rows });
    expect(predict.body.input_issues).toEqual([purple]);

    const pd = await send(lenient, 'POST', '/v2/models/colours/infer', {
      parameters: { content_type: 'pd' },
      inputs: [
        { name: 'a', shape: [2], datatype: 'FP64', data: [0.5, 0.5] },
        { name: 'colour', shape: [2], datatype: 'BYTES', data: ['purple', 'red'] },
        { name: 'b', shape: [2], datatype: 'FP64', data: [3, 3] },
      ],
    });
    expect(pd.status, JSON.stringify(pd.body)).toBe(200);
    expect(JSON.parse((pd.body.parameters as { input_issues: string }).input_issues)).toEqual([purple]);

    // One tensor carries codes: one that names no category is an unseen category too.
    const tensor = await send(lenient, 'POST', '/v2/models/colours/infer', {
      inputs: [{ name: 'input', shape: [2, 3], datatype: 'FP32', data: [0.5, 7, 3, 0.5, 2, 3] }],
    });
    expect(JSON.parse((tensor.body.parameters as { input_issues: string }).input_issues)).toEqual([
      { ...purple, value: 7 },
    ]);
    const [out] = tensor.body.outputs as Array<{ data: number[] }>;
    close(out.data);

    // A clean answer keeps its protocol's exact shape.
    const clean = await send(lenient, 'POST', '/invocations?model=colours', { dataframe_records: [rows[1]] });
    expect(Object.keys(clean.body)).toEqual(['predictions']);
  });

  it('refuses a row whose features are all missing by default: 422 for rows sent, 503 for features looked up', async () => {
    const sent = await send(lenient, 'POST', '/predict', {
      model: 'colours',
      rows: [
        { a: 1, colour: 'red', b: 2 },
        { a: null, colour: null, b: null },
      ],
    });
    expect(sent).toEqual({
      status: 422,
      body: {
        error_code: 'DATA_VALIDATION_FAILED',
        message:
          "the input policy of model 'colours' refused 1 row: row 1: every feature is missing (allMissing: refuse)",
      },
    });
    const mlflow = await send(lenient, 'POST', '/invocations?model=colours', { inputs: [[null, '', null]] });
    expect(mlflow.status).toBe(422);
    const oip = await send(lenient, 'POST', '/v2/models/colours/infer', {
      inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP32', data: [null, null, null] }],
    });
    expect([oip.status, Object.keys(oip.body)]).toEqual([422, ['error']]);
    // Customer 999 is not in the online store: its features are the server's to have.
    const lookedUp = await send(lenient, 'POST', '/predict', {
      model: 'churn',
      entities: { customer_id: [3, 999] },
    });
    expect(lookedUp.status).toBe(503);
    expect(lookedUp.body).toMatchObject({ error_code: 'TEMPORARILY_UNAVAILABLE' });
    expect(lookedUp.body.message).toBe(
      "the input policy of model 'churn' refused 1 row: row 1: every feature is missing (allMissing: refuse) (the online store lacks these features or holds them past their max age: materialize them, or declare allMissing: score)",
    );
  });

  it('under a strict policy refuses unseen categories and rows missing too much, naming them', async () => {
    const r = await send(strict, 'POST', '/invocations?model=colours', {
      dataframe_records: [
        { a: 1, colour: 'red', b: 2 },
        { a: 1, colour: 'purple', b: 2 },
        { a: null, colour: 'red', b: null },
        { a: 1, colour: null, b: 2 },
      ],
    });
    expect(r).toEqual({
      status: 422,
      body: {
        error_code: 'DATA_VALIDATION_FAILED',
        message:
          "the input policy of model 'colours' refused 2 rows: row 1: unseen category \"purple\" in column 'colour' (unseenCategory: refuse); row 2: 2 of 3 features missing, above maxMissingShare 0.5",
      },
    });
    // One missing of three is within the share.
    const ok = await send(strict, 'POST', '/invocations?model=colours', {
      dataframe_records: [{ a: 1, colour: null, b: 2 }],
    });
    expect(ok.status).toBe(200);
    // This server scores churn's all-missing rows, as declared for it alone.
    const entity = await send(strict, 'POST', '/predict', {
      model: 'churn',
      entities: { customer_id: [999] },
    });
    expect(entity.status).toBe(200);
  });

  it('counts every issue on /metrics by what the policy did', async () => {
    const metrics = await (await fetch(`${strict}/metrics`)).text();
    const count = (labels: string) =>
      Number(new RegExp(`keel_model_input_issues_total\\{${labels}\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    // The strict server's refused request: all four rows' issues are refused, nothing was scored.
    expect(count('model="colours",version="1",issue="unseen_category",action="refused"')).toBe(1);
    expect(count('model="colours",version="1",issue="missing_share",action="refused"')).toBe(1);
    expect(count('model="churn",version="1",issue="all_missing",action="scored"')).toBe(1);
    const lenientMetrics = await (await fetch(`${lenient}/metrics`)).text();
    expect(lenientMetrics).toMatch(
      /keel_model_input_issues_total\{model="colours",version="1",issue="unseen_category",action="scored"\} 4/,
    );
    expect(lenientMetrics).toMatch(
      /keel_model_input_issues_total\{model="colours",version="1",issue="all_missing",action="refused"\} 3/,
    );
  });
});
