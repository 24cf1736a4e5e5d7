/**
 * Online serving over a real loopback server: MLflow's `/invocations` (four JSON formats and
 * CSV), the Open Inference Protocol v2, and `/predict` with features looked up in a materialized
 * SQLite online store, all scoring a Keel-trained GBDT in ONNX Runtime. Every request's lease is
 * counted, and 200 concurrent requests check that the micro-batcher gives each its own score.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/server/index.js';
import { KEEL_VERSION } from '../../src/server/version.js';
import { ModelServer } from '../../src/serving/index.js';
import { failingModelBytes, logisticModelBytes } from '../helpers/onnx.js';
import { COLUMNS, type Row, type ServedWorld, servedWorld } from '../helpers/serving.js';

/** Rows off the training grid, one with a missing value, one with values as text. */
const ROWS: Row[] = [
  { tenure: 3, orders: 1, spend: 0.4 },
  { tenure: 25, orders: 6, spend: 4.8 },
  { tenure: 14.5, orders: 2, spend: 3.3 },
  { tenure: 30, orders: 4, spend: null },
  { tenure: 11, orders: 0, spend: 2.2 },
  { tenure: 40, orders: 5, spend: 1.7 },
];
const SHUFFLED = ['spend', 'tenure', 'orders'] as const;
const WEIGHTS = [0.5, -0.25, 1];
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Scores agree to float32 precision, row for row. */
function expectScores(got: readonly number[], want: readonly number[]): void {
  expect(got).toHaveLength(want.length);
  for (let i = 0; i < want.length; i++) expect(got[i], `row ${i}`).toBeCloseTo(want[i], 6);
}

interface Reply {
  status: number;
  type: string;
  text: string;
  body: Record<string, unknown>;
}

describe('online serving routes', () => {
  let world: ServedWorld;
  let serving: ModelServer;
  let app: FastifyInstance;
  let base: string;
  /** Every lease taken, and how it was released (undefined while held). */
  let leases: Array<{ name: string; released: Array<boolean | undefined> }>;

  const send = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ): Promise<Reply> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {}
    return { status: res.status, type: res.headers.get('content-type') ?? '', text, body: parsed };
  };
  const post = (path: string, body: unknown, headers?: Record<string, string>) =>
    send('POST', path, body, headers);
  const predictions = (r: Reply) => r.body.predictions as number[];

  beforeAll(async () => {
    world = await servedWorld({ logit: logisticModelBytes(WEIGHTS), broken: failingModelBytes() });
    serving = await ModelServer.start({
      registry: world.registry,
      features: world.store,
      models: ['models:/churn/1', 'models:/logit/1', 'models:/broken/1'],
      // Scores a customer the online store does not know (the default refuses: input-policy.test).
      inputPolicies: { models: { churn: { allMissing: 'score' } } },
    });
    const acquire = serving.acquire.bind(serving);
    serving.acquire = (name, options) => {
      const lease = acquire(name, options);
      const record = { name, released: [] as Array<boolean | undefined> };
      leases.push(record);
      return {
        ...lease,
        release: (failed?: boolean) => {
          record.released.push(failed);
          lease.release(failed);
        },
      };
    };
    app = await buildApp({
      services: { tracking: world.tracking, registry: world.registry, features: world.store, serving },
      logger: false,
      // A small window makes concurrent requests share batches in the ordering test.
      batching: { maxBatchSize: 16, maxLatencyMs: 2 },
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  beforeEach(() => {
    leases = [];
  });
  afterAll(async () => {
    await app?.close();
    await serving?.close();
    await world?.close();
  });

  describe('MLflow /invocations', () => {
    const expectRows = (r: Reply) => {
      expect(r.status, r.text).toBe(200);
      const got = predictions(r);
      const want = world.expected(ROWS);
      expectScores(got, want);
    };

    it('scores the four JSON formats and CSV alike, as the GBDT does', async () => {
      const split = { columns: [...SHUFFLED], data: ROWS.map((r) => SHUFFLED.map((c) => r[c])) };
      expectRows(await post('/invocations?model=churn', { dataframe_split: split, params: { x: 1 } }));
      expectRows(await post('/invocations?model=churn', { dataframe_records: ROWS }));
      expectRows(await post('/invocations?model=churn', { instances: ROWS }));
      expectRows(
        await post('/invocations?model=churn', { instances: ROWS.map((r) => COLUMNS.map((c) => r[c])) }),
      );
      expectRows(
        await post('/invocations?model=churn', { inputs: ROWS.map((r) => COLUMNS.map((c) => r[c])) }),
      );
      const columnar = Object.fromEntries(SHUFFLED.map((c) => [c, ROWS.map((r) => r[c])]));
      expectRows(await post('/invocations?model=churn', { inputs: columnar }));
      // pandas' to_csv: the index first (unnamed), missing values as empty cells.
      const csv = [
        `,${SHUFFLED.join(',')}`,
        ...ROWS.map((r, i) => `${i},${SHUFFLED.map((c) => r[c] ?? '').join(',')}`),
      ];
      expectRows(
        await post('/invocations', `${csv.join('\r\n')}\r\n`, {
          'content-type': 'text/csv; charset=utf-8',
          'x-keel-model': 'churn',
        }),
      );
      expect(leases).toHaveLength(7);
      for (const l of leases) expect(l).toEqual({ name: 'churn', released: [false] });
    });

    it('answers /ping and /version', async () => {
      const ping = await send('GET', '/ping');
      expect(ping.status).toBe(200);
      expect((await send('GET', '/version')).text).toBe(KEEL_VERSION);
      expect(KEEL_VERSION).toMatch(/^\d+\.\d+\.\d+/);
    });

    it('refuses other content types, charsets and parameters with 415 as MLflow words it', async () => {
      const xml = await post('/invocations?model=churn', '<rows/>', { 'content-type': 'application/xml' });
      expect(xml.status).toBe(415);
      expect(xml.type).toMatch(/^text\/plain/);
      expect(xml.text).toBe(
        "This predictor only supports the following content types: Types: ['text/csv', 'application/json']. Got 'application/xml'.",
      );
      const latin = await post('/invocations?model=churn', '{}', {
        'content-type': 'application/json; charset=latin-1',
      });
      expect([latin.status, latin.text]).toEqual([415, 'The scoring server only supports UTF-8']);
      const format = await post('/invocations?model=churn', '{}', {
        'content-type': 'application/json; format=pandas-split',
      });
      expect([format.status, format.text]).toEqual([415, 'Unrecognized content type parameters: format.']);
      const none = await post('/invocations?model=churn', 'a', {});
      expect(none.status).toBe(415);
      expect(leases).toHaveLength(0);
      // Content types are judged once and remembered: the same header judged again, and a good
      // one among refused ones, are answered as the first time.
      for (let i = 0; i < 3; i++) {
        const again = await post('/invocations?model=churn', '{}', {
          'content-type': 'application/json; charset=latin-1',
        });
        expect([again.status, again.text]).toEqual([415, 'The scoring server only supports UTF-8']);
        const good = await post('/invocations?model=churn', 'tenure,orders,spend\n1,2,3\n', {
          'content-type': 'text/csv; charset=UTF-8',
        });
        expect(good.status, good.text).toBe(200);
      }
      expect(leases).toHaveLength(3);
    });

    it('answers bad input with 400 and MLflow error JSON, naming what is wrong', async () => {
      const bad = async (body: unknown, message: string | RegExp, path = '/invocations?model=churn') => {
        const r = await post(path, body);
        expect(r.status, r.text).toBe(400);
        expect(r.body.error_code).toBe('BAD_REQUEST');
        if (typeof message === 'string') expect(r.body.message).toBe(message);
        else expect(r.body.message).toMatch(message);
      };
      const required =
        "Invalid input. The input must be a JSON dictionary with exactly one of the input fields {'dataframe_split', 'dataframe_records', 'instances', 'inputs'}";
      await bad([{ tenure: 1 }], `${required}. Received a list.`);
      await bad(
        { instances: [], inputs: [] },
        `${required}. Received dictionary with input fields: ['instances', 'inputs'].`,
      );
      await bad({ rows: [] }, `${required}. Received dictionary with input fields: ['rows'].`);
      await bad('{"inputs": [', /^Invalid input\. Ensure that input is a valid JSON formatted string/);
      await bad({ dataframe_records: [{ tenure: 1, orders: 2 }] }, /row 0 lacks column 'spend'/);
      await bad(
        { dataframe_records: [{ tenure: 1, orders: 'many', spend: 1 }] },
        /column 'orders', row 0: "many" is not a number/,
      );
      await bad(
        { dataframe_split: { columns: ['tenure'], data: [[1, 2]] } },
        /row 0 has 2 values for 1 columns/,
      );
      await bad({ dataframe_split: { data: 'x' } }, /^Invalid dataframe_split: data: /);
      await bad({ inputs: [[1, 2]] }, /row 0 has 2 values; the model takes 3/);
      await bad({ inputs: { tenure: [1, 2], orders: [1] } }, /column 'orders' has 1 values; 'tenure' has 2/);
      // A model with no column names takes rows by position only.
      await bad(
        { dataframe_records: [{ a: 1 }] },
        /logit version 1 has no column names/,
        '/invocations?model=logit',
      );
      // Several models are served: the request must say which.
      await bad(
        { inputs: [[1, 2, 3]] },
        '3 models are served here (churn, logit, broken): name one with ?model=<name> or the X-Keel-Model header',
        '/invocations',
      );
      const csv = await post('/invocations?model=churn', 'tenure,orders\n1,2,3\n', {
        'content-type': 'text/csv',
      });
      expect([csv.status, csv.body.message]).toEqual([400, 'CSV row 1 has 3 fields; the header has 2']);
      const unknown = await post('/invocations?model=nope', { inputs: [[1, 2, 3]] });
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual({
        error_code: 'RESOURCE_DOES_NOT_EXIST',
        message: "model 'nope' is not served here (served: churn, logit, broken)",
      });
      // Bad input found while encoding is not the model's failure.
      for (const l of leases) expect(l.released).toEqual([false]);
    });

    it('gives an empty table an empty answer without calling the model', async () => {
      const r = await post('/invocations?model=churn', { dataframe_records: [] });
      expect([r.status, r.body]).toEqual([200, { predictions: [] }]);
    });
  });

  describe('Open Inference Protocol v2', () => {
    it('answers health with a status and an empty body, and server metadata', async () => {
      for (const path of [
        '/v2/health/live',
        '/v2/health/ready',
        '/v2/models/churn/ready',
        '/v2/models/churn/versions/1/ready',
      ]) {
        const r = await send('GET', path);
        expect([path, r.status, r.text]).toEqual([path, 200, '']);
      }
      for (const path of ['/v2/models/nope/ready', '/v2/models/churn/versions/2/ready']) {
        const r = await send('GET', path);
        expect([path, r.status, r.text]).toEqual([path, 404, '']);
      }
      expect((await send('GET', '/v2')).body).toEqual({
        name: 'keel',
        version: KEEL_VERSION,
        extensions: [],
      });
    });

    it('describes a model: platform, input tensor with -1 for the batch, the score output, its columns and input policy', async () => {
      const want = {
        name: 'churn',
        versions: ['1'],
        platform: 'onnx_onnxv1',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 3] }],
        outputs: [{ name: 'score', datatype: 'FP64', shape: [-1] }],
        columns: COLUMNS.map((name, index) => ({ name, index, type: 'number', datatype: 'FP64' })),
        input_policy: { unseen_category: 'score-as-missing', all_missing: 'score', max_missing_share: 1 },
      };
      expect((await send('GET', '/v2/models/churn')).body).toEqual(want);
      expect((await send('GET', '/v2/models/churn/versions/1')).body).toEqual(want);
      const v2 = await send('GET', '/v2/models/churn/versions/2');
      expect([v2.status, v2.body]).toEqual([404, { error: "model 'churn' version 2 is not served here" }]);
      expect((await send('GET', '/v2/models/nope')).body).toEqual({
        error: "model 'nope' is not served here",
      });
      const route = await send('GET', '/v2/nothing');
      expect([route.status, route.body]).toEqual([404, { error: 'No route GET /v2/nothing' }]);
    });

    it('infers from one tensor [N, F], flat or nested, of any numeric datatype', async () => {
      const want = world.expected(ROWS);
      const data = ROWS.map((r) => COLUMNS.map((c) => r[c]));
      for (const [datatype, tensor] of [
        ['FP64', data],
        ['FP32', data.flat()],
      ] as const) {
        const r = await post('/v2/models/churn/infer', {
          id: 'req-7',
          inputs: [{ name: 'input', shape: [ROWS.length, 3], datatype, data: tensor }],
          outputs: [{ name: 'score' }],
        });
        expect(r.status, r.text).toBe(200);
        expect(r.body).toMatchObject({ model_name: 'churn', model_version: '1', id: 'req-7' });
        const [out] = r.body.outputs as Array<{
          name: string;
          datatype: string;
          shape: number[];
          data: number[];
        }>;
        expect({ ...out, data: undefined }).toEqual({
          name: 'score',
          datatype: 'FP64',
          shape: [ROWS.length],
          data: undefined,
        });
        expectScores(out.data, want);
      }
      const ints = await post('/v2/models/churn/versions/1/infer', {
        inputs: [{ name: 'input', shape: [2, 3], datatype: 'INT32', data: [3, 1, 0, 25, 6, 4] }],
      });
      const wantInts = world.expected([
        { tenure: 3, orders: 1, spend: 0 },
        { tenure: 25, orders: 6, spend: 4 },
      ]);
      const [out] = ints.body.outputs as Array<{ data: number[] }>;
      expectScores(out.data, wantInts);
      expect(ints.body).not.toHaveProperty('id');
    });

    it('infers from one input per column with content_type "pd"', async () => {
      const r = await post('/v2/models/churn/infer', {
        parameters: { content_type: 'pd' },
        inputs: SHUFFLED.map((c) => ({
          name: c,
          shape: c === 'orders' ? [ROWS.length, 1] : [ROWS.length],
          datatype: c === 'orders' ? 'INT64' : 'FP64',
          data: ROWS.map((row) => row[c]),
        })),
      });
      expect(r.status, r.text).toBe(200);
      const [out] = r.body.outputs as Array<{ data: number[] }>;
      const want = world.expected(ROWS);
      expectScores(out.data, want);
    });

    it('answers bad requests with 400 or 404 and {"error"}', async () => {
      const infer = (body: unknown, path = '/v2/models/churn/infer') => post(path, body);
      const tensor = (extra: Record<string, unknown>) => ({
        inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3], ...extra }],
      });
      const cases: Array<[unknown, number, string | RegExp, string?]> = [
        [tensor({ shape: [2, 3] }), 400, "input 'input': shape [2, 3] holds 6 values; data has 3"],
        [tensor({ shape: [3, 1] }), 400, "input 'input': the model takes shape [N, 3]; got [3, 1]"],
        [tensor({ data: [1, 'x', 3] }), 400, `input 'input': data[1] is "x", not a FP32 value`],
        [
          tensor({ datatype: 'INT8', data: [1, 2.5, 3] }),
          400,
          "input 'input': data[1] is 2.5, not a INT8 value",
        ],
        [
          tensor({ datatype: 'UINT8', data: [1, -2, 3] }),
          400,
          "input 'input': data[1] is -2, not a UINT8 value",
        ],
        [
          tensor({ datatype: 'BYTES', data: ['a', 'b', 'c'] }),
          400,
          /BYTES is taken only with content_type "pd"/,
        ],
        [tensor({ datatype: 'FP8' }), 400, /^Invalid inference request: inputs\.0\.datatype: /],
        [{ inputs: [] }, 400, /^Invalid inference request: inputs: /],
        [
          { ...tensor({}), outputs: [{ name: 'probabilities' }] },
          400,
          "unknown output 'probabilities': the model's one output is 'score'",
        ],
        [
          { ...tensor({}), parameters: { content_type: 'str' } },
          400,
          'content_type "str" is not supported: use "pd" or "np"',
        ],
        [
          {
            parameters: { content_type: 'pd' },
            inputs: [{ name: 'tenure', shape: [1], datatype: 'FP64', data: [1] }],
          },
          400,
          `no input for columns 'orders', 'spend' (content_type "pd" takes one input per column: tenure, orders, spend)`,
        ],
        [
          {
            parameters: { content_type: 'pd' },
            inputs: COLUMNS.map((c, i) => ({
              name: c,
              shape: [i === 2 ? 2 : 1],
              datatype: 'FP64',
              data: i === 2 ? [1, 2] : [1],
            })),
          },
          400,
          "input 'spend' has 2 rows; 'tenure' has 1",
        ],
        [
          tensor({}),
          404,
          "model 'churn' version 2 is not served here (serving version 1)",
          '/v2/models/churn/versions/2/infer',
        ],
        [tensor({}), 404, "model 'nope' is not served here", '/v2/models/nope/infer'],
        [
          {
            parameters: { content_type: 'pd' },
            inputs: [{ name: 'a', shape: [1], datatype: 'FP64', data: [1] }],
          },
          400,
          'logit version 1 has no column names: send one tensor [N, 3]',
          '/v2/models/logit/infer',
        ],
      ];
      for (const [body, status, message, path] of cases) {
        const r = await infer(body, path);
        expect([r.status, Object.keys(r.body)], r.text).toEqual([status, ['error']]);
        if (typeof message === 'string') expect(r.body.error).toBe(message);
        else expect(r.body.error).toMatch(message);
      }
      const malformed = await post('/v2/models/churn/infer', '{"inputs": [', {
        'content-type': 'application/json',
      });
      expect([malformed.status, Object.keys(malformed.body)]).toEqual([400, ['error']]);
      for (const type of ['application/xml', 'text/plain']) {
        const other = await post('/v2/models/churn/infer', '<x/>', { 'content-type': type });
        expect([other.status, Object.keys(other.body)]).toEqual([415, ['error']]);
      }
      for (const l of leases) expect(l.released).toEqual([false]);
    });
  });

  describe('Keel /predict', () => {
    it('looks features up online by entity keys and shows what is missing', async () => {
      const r = await post('/predict', {
        model: 'churn',
        version: '1',
        entities: { customer_id: [1, 17, 999] },
      });
      expect(r.status, r.text).toBe(200);
      // The online store holds each customer's latest row: feature day 20.
      const latest = (c: number): Row => ({
        tenure: 20 + c,
        orders: (c * 3 + 20) % 7,
        spend: ((c * 13 + 140) % 50) / 10,
      });
      const want = world.expected([latest(1), latest(17), { tenure: null, orders: null, spend: null }]);
      expect(r.body).toMatchObject({ model: 'churn', version: '1' });
      const preds = r.body.predictions as Array<{ score: number; missing_features?: Record<string, string> }>;
      expectScores(
        preds.map((p) => p.score),
        want,
      );
      expect(preds[0]).not.toHaveProperty('missing_features');
      expect(preds[1]).not.toHaveProperty('missing_features');
      expect(preds[2].missing_features).toEqual({
        tenure: 'NOT_FOUND',
        orders: 'NOT_FOUND',
        spend: 'NOT_FOUND',
      });
      // The model is declared to score such a row; the answer says it did.
      expect(r.body.input_issues).toEqual([{ row: 2, issue: 'all_missing', action: 'scored' }]);
      expect(leases).toEqual([{ name: 'churn', released: [false] }]);
    });

    it('scores rows given whole, as objects or arrays', async () => {
      const want = world.expected(ROWS);
      for (const rows of [ROWS, ROWS.map((r) => COLUMNS.map((c) => r[c]))]) {
        const r = await post('/predict', { model: 'churn', rows });
        expect(r.status, r.text).toBe(200);
        expect(r.body).toMatchObject({ model: 'churn', version: '1' });
        expectScores(
          (r.body.predictions as Array<{ score: number }>).map((p) => p.score),
          want,
        );
      }
    });

    it('answers bad requests with precise 4xx errors', async () => {
      const cases: Array<[unknown, number, string, string | RegExp]> = [
        [
          { model: 'churn', rows: ROWS, entities: { customer_id: [1] } },
          400,
          'INVALID_PARAMETER_VALUE',
          'Invalid predict request: give exactly one of entities and rows',
        ],
        [
          { model: 'churn' },
          400,
          'INVALID_PARAMETER_VALUE',
          'Invalid predict request: give exactly one of entities and rows',
        ],
        [
          { model: 'churn', version: 'latest', rows: ROWS },
          400,
          'INVALID_PARAMETER_VALUE',
          'Invalid predict request: version: must be a version number',
        ],
        [
          { model: 'churn', entities: { customer_id: [] } },
          400,
          'INVALID_PARAMETER_VALUE',
          /^Invalid predict request: entities\.customer_id: /,
        ],
        [
          { model: 'churn', entities: { user_id: [1] } },
          400,
          'INVALID_PARAMETER_VALUE',
          "entities lack join key 'customer_id' (given: user_id)",
        ],
        [
          { model: 'churn', rows: [{ tenure: 1 }] },
          400,
          'INVALID_PARAMETER_VALUE',
          "row 0 lacks column 'orders' (the model takes tenure, orders, spend)",
        ],
        [
          { rows: ROWS },
          400,
          'INVALID_PARAMETER_VALUE',
          "3 models are served here (churn, logit, broken): name one with the request's 'model' field",
        ],
        [
          { model: 'nope', rows: ROWS },
          404,
          'RESOURCE_DOES_NOT_EXIST',
          "model 'nope' is not served here (served: churn, logit, broken)",
        ],
        [
          { model: 'churn', version: 2, rows: ROWS },
          404,
          'RESOURCE_DOES_NOT_EXIST',
          "model 'churn' version 2 is not served here (serving version 1)",
        ],
        [
          { model: 'logit', entities: { customer_id: [1] } },
          409,
          'FAILED_PRECONDITION',
          'logit version 1 names no features to look up: send feature rows instead',
        ],
      ];
      for (const [body, status, code, message] of cases) {
        const r = await post('/predict', body);
        expect([r.status, r.body.error_code], r.text).toEqual([status, code]);
        if (typeof message === 'string') expect(r.body.message).toBe(message);
        else expect(r.body.message).toMatch(message);
      }
      const malformed = await post('/predict', '{"rows"', { 'content-type': 'application/json' });
      expect(malformed.status).toBe(400);
      const text = await post('/predict', 'rows', { 'content-type': 'text/plain' });
      expect([text.status, text.body.error_code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
      for (const l of leases) expect(l.released).toEqual([false]);
    });
  });

  it('answers a model failure with 500 on every route, and releases its lease as failed', async () => {
    const rows = [
      [1, 2],
      [3, 4],
    ];
    const replies = [
      await post('/invocations?model=broken', { inputs: rows }),
      await post('/v2/models/broken/infer', {
        inputs: [{ name: 'x', shape: [2, 2], datatype: 'FP32', data: rows.flat() }],
      }),
      await post('/predict', { model: 'broken', rows }),
    ];
    for (const r of replies) {
      expect(r.status).toBe(500);
      expect(r.text).toMatch(/model 'broken' version 1 failed to score 2 rows: .*cannot be reshaped/);
    }
    expect(replies[1].body).toHaveProperty('error');
    expect(replies[2].body.error_code).toBe('EXECUTION_FAILED');
    expect(leases).toEqual([
      { name: 'broken', released: [true] },
      { name: 'broken', released: [true] },
      { name: 'broken', released: [true] },
    ]);
    // The server still serves.
    expect((await post('/predict', { model: 'logit', rows: [[0, 0, 0]] })).status).toBe(200);
  });

  it('gives each of 200 concurrent requests its own score, batched', async () => {
    const lease = serving.acquire('logit');
    const model = lease.predictor.model;
    lease.release();
    leases = [];
    const score = model.score.bind(model);
    const batches: number[] = [];
    model.score = (values, rows) => {
      batches.push(rows);
      return score(values, rows);
    };
    try {
      const row = (i: number) => [i / 50, (i % 7) - 3, (i % 3) / 2];
      const expected = (i: number) => sigmoid(row(i).reduce((s, v, j) => s + Math.fround(v) * WEIGHTS[j], 0));
      const replies = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          i % 2
            ? post('/invocations?model=logit', { inputs: [row(i)] })
            : post('/v2/models/logit/infer', {
                inputs: [{ name: 'features', shape: [1, 3], datatype: 'FP64', data: row(i) }],
              }),
        ),
      );
      replies.forEach((r, i) => {
        expect(r.status, r.text).toBe(200);
        const got = i % 2 ? predictions(r)[0] : (r.body.outputs as Array<{ data: number[] }>)[0].data[0];
        expect(got, `request ${i}`).toBeCloseTo(expected(i), 5);
      });
      expect(batches.reduce((a, b) => a + b, 0)).toBe(200);
      expect(Math.max(...batches)).toBeLessThanOrEqual(16);
      expect(batches.length).toBeLessThan(200);
      expect(leases).toHaveLength(200);
      for (const l of leases) expect(l.released).toEqual([false]);
    } finally {
      model.score = score;
    }
  });

  it("with --auth, lets probes in without a token and a reader's token score", async () => {
    const { token } = await world.registry.tokens.create('rita', 'reader');
    const secured = await buildApp({
      services: { tracking: world.tracking, registry: world.registry, features: world.store, serving },
      logger: false,
      auth: true,
    });
    try {
      const url = await secured.listen({ host: '127.0.0.1', port: 0 });
      for (const probe of ['/ping', '/health', '/v2/health/live', '/v2/health/ready'])
        expect((await fetch(`${url}${probe}`)).status, probe).toBe(200);
      expect((await fetch(`${url}/v2/models/churn`)).status).toBe(401);
      const predict = (headers: Record<string, string>) =>
        fetch(`${url}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ model: 'churn', entities: { customer_id: [3] } }),
        });
      expect((await predict({})).status).toBe(401);
      expect((await predict({ authorization: `Bearer ${token}` })).status).toBe(200);
    } finally {
      await secured.close();
    }
  });
});
