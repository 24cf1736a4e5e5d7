/**
 * `keel probe`, the CI workflow's integration test of a deployed endpoint, against a real `keel
 * serve` on a loopback port that follows a model's Staging stage: it passes when the endpoint
 * serves the version and scores every row, waits through a deploy (a promotion reaching the server
 * within its refresh interval), and fails with the exit code of each way a deployment can be wrong.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestRows } from '../../src/deploy/index.js';
import { type BackgroundKeel, keel, keelJson, startKeel } from '../helpers/cli.js';
import { writeLogisticModel } from '../helpers/onnx.js';
import { tempDir } from '../helpers/temp.js';

const WEIGHTS = [0.5, -0.25, 1];
const ROWS = [
  [1, 2, 3],
  [0.5, -4, 0],
];
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

describe('keel probe against a real keel serve', () => {
  const cwd = tempDir('keel-probe-');
  let server: BackgroundKeel;
  let url: string;

  beforeAll(async () => {
    writeLogisticModel(cwd, WEIGHTS);
    writeFileSync(join(cwd, 'probe.json'), JSON.stringify({ inputs: ROWS }));
    writeFileSync(join(cwd, 'not-a-request.json'), JSON.stringify({ rows: ROWS }));
    for (const v of ['1', '2']) {
      expect(
        (await keelJson<{ version: string }>(['models', 'register', 'm', 'model.onnx'], { cwd })).version,
      ).toBe(v);
    }
    await keelJson(['models', 'promote', 'm', '1', '--to', 'Staging'], { cwd });
    server = startKeel(
      ['serve', '--port', '0', '--model', 'models:/m/Staging', '--refresh-interval', '200', '--no-scheduler'],
      { cwd },
    );
    [, url] = (await server.waitFor(/keel serving on (http:\/\/\S+)/)) as RegExpExecArray;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('passes when the endpoint serves the version, with a prediction per row', async () => {
    const result = await keelJson<{ version: string; rows: number; predictions: number[]; checks: number }>(
      ['probe', url, '--model', 'm', '--version', '1', '--data', 'probe.json'],
      { cwd },
    );
    expect(result).toMatchObject({ version: '1', rows: 2, checks: 1 });
    const expected = ROWS.map((r) => sigmoid(r.reduce((s, x, i) => s + x * WEIGHTS[i], 0)));
    expect(result.predictions).toHaveLength(expected.length);
    for (const [i, p] of result.predictions.entries()) expect(p).toBeCloseTo(expected[i], 5);
  });

  it('fails with exit 7 when the endpoint serves another version, or not the model, when its wait runs out', async () => {
    const other = await keel(
      ['probe', url, '--model', 'm', '--version', '2', '--data', 'probe.json', '--wait', '1'],
      {
        cwd,
      },
    );
    expect(other.code).toBe(7);
    expect(other.stderr).toContain('serves m version 1, not 2');
    const unknown = await keel(['probe', url, '--model', 'n', '--data', 'probe.json', '--wait', '0'], {
      cwd,
    });
    expect(unknown.code).toBe(7);
    expect(unknown.stderr).toContain('serves m 1, not n');
  });

  it('waits through a deploy: the promotion reaches the server within its refresh interval', async () => {
    const probing = keel(
      [
        'probe',
        url,
        '--model',
        'm',
        '--version',
        '2',
        '--data',
        'probe.json',
        '--wait',
        '120',
        '--interval',
        '0.2',
        '--json',
      ],
      { cwd },
    );
    await keelJson(['models', 'promote', 'm', '2', '--to', 'Staging'], { cwd });
    const res = await probing;
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ version: '2', rows: 2 });
  });

  it('fails with exit 11 when nothing answers, and exit 2 for a file that is no scoring request', async () => {
    const closed = await keel(
      ['probe', 'http://127.0.0.1:1', '--model', 'm', '--data', 'probe.json', '--wait', '0'],
      {
        cwd,
      },
    );
    expect(closed.code).toBe(11);
    expect(closed.stderr).toMatch(/did not answer/);
    const bad = await keel(['probe', url, '--model', 'm', '--data', 'not-a-request.json'], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/MLflow \/invocations body/);
  });
});

describe('keel probe against a keel serve --auth', () => {
  const cwd = tempDir('keel-probe-auth-');
  let server: BackgroundKeel;
  let url: string;
  let token: string;

  beforeAll(async () => {
    writeLogisticModel(cwd, WEIGHTS);
    writeFileSync(join(cwd, 'probe.json'), JSON.stringify({ instances: ROWS }));
    await keelJson(['models', 'register', 'm', 'model.onnx'], { cwd });
    ({ token } = await keelJson<{ token: string }>(['tokens', 'create', '--user', 'ci', '--role', 'reader'], {
      cwd,
    }));
    server = startKeel(['serve', '--port', '0', '--auth', '--model', 'models:/m/1', '--no-scheduler'], {
      cwd,
    });
    [, url] = (await server.waitFor(/keel serving on (http:\/\/\S+)/)) as RegExpExecArray;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("scores with KEEL_TOKEN's bearer token, and says the endpoint refused it without one", async () => {
    const withToken = await keel(['probe', url, '--model', 'm', '--version', '1', '--data', 'probe.json'], {
      cwd,
      env: { KEEL_TOKEN: token },
    });
    expect(withToken.code, withToken.stderr).toBe(0);
    expect(withToken.stdout).toContain('serves m version 1: 2 rows scored through /invocations');
    const without = await keel(['probe', url, '--model', 'm', '--data', 'probe.json'], { cwd });
    expect(without.code).toBe(7);
    expect(without.stderr).toContain('/invocations answered 401');
  });
});

describe('requestRows', () => {
  it("counts the rows of each of MLflow's JSON request formats", () => {
    expect(requestRows(JSON.stringify({ dataframe_split: { columns: ['a'], data: [[1], [2], [3]] } }))).toBe(
      3,
    );
    expect(requestRows(JSON.stringify({ dataframe_records: [{ a: 1 }, { a: 2 }] }))).toBe(2);
    expect(requestRows(JSON.stringify({ instances: [[1, 2]] }))).toBe(1);
    expect(requestRows(JSON.stringify({ inputs: { a: [1, 2, 3, 4], b: [5, 6, 7, 8] } }))).toBe(4);
    expect(() => requestRows('{"inputs": ')).toThrow(/not JSON/);
  });
});
