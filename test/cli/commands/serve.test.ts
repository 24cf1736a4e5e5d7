/**
 * `keel serve --model <uri>` as a child process: it loads the models, prints where it listens,
 * scores over HTTP and stops on SIGTERM; a model that does not load stops it with its error and
 * exit code.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/core/index.js';
import { Registry } from '../../../src/registry/index.js';
import { tempHome } from '../../features/helpers.js';
import { keel, startKeel } from '../../helpers/cli.js';
import { writeLogisticModel } from '../../helpers/onnx.js';
import { processTree } from '../../helpers/proc.js';

const ENV = { KEEL_TRACKING_URI: '', MLFLOW_TRACKING_URI: '' };

describe('keel serve --model', () => {
  const { dir, cleanup } = tempHome();
  beforeAll(async () => {
    const registry = await Registry.open(loadConfig({ cwd: dir, env: {} }));
    await registry.models.create('logit');
    await registry.versions.create({ name: 'logit', source: writeLogisticModel(dir, [1, 0, 0]) });
    await registry.versions.create({ name: 'logit', source: writeLogisticModel(dir, [0, 1, 0], 'v2.onnx') });
    await registry.close();
  });
  afterAll(cleanup);

  // A child process loads ONNX Runtime and the registry: slow on a busy machine.
  it('serves the model, here with a canary taking all traffic, until SIGTERM', {
    timeout: 120_000,
  }, async () => {
    const server = startKeel(
      [
        'serve',
        '--port',
        '0',
        '--json',
        '--model',
        'models:/logit/1',
        '--canary',
        'models:/logit/2',
        '--canary-percent',
        '100',
      ],
      { cwd: dir, env: ENV },
    );
    await server.waitFor(/^\}$/m);
    const started = JSON.parse(server.output().stdout) as { url: string };
    expect(started).toMatchObject({
      models: ['models:/logit/1'],
      canary: { uri: 'models:/logit/2', percent: 100, serving: true, version: '2' },
    });
    const res = await fetch(`${started.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: 'a,b,c\n0,1,2\n',
    });
    // Version 2 weighs the second column: sigmoid(1), where version 1 would give sigmoid(0).
    const { predictions } = (await res.json()) as { predictions: number[] };
    expect(predictions[0]).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
    // Serving and its prediction log open no DuckDB, so no worker loads its native library
    // (0.2-0.7 s to load, 57 MB mapped; data/duckdb-module). Read before the stop, checked after.
    const workers = processTree(server.child.pid as number).slice(1);
    const withDuckDB = workers.filter((pid) =>
      readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libduckdb'),
    );
    expect(await server.stop()).toBe(0);
    expect(workers.length).toBeGreaterThan(0);
    expect(withDuckDB).toEqual([]);
  });

  it('never announces a canary that did not load as taking traffic', { timeout: 120_000 }, async () => {
    const server = startKeel(
      [
        'serve',
        '--port',
        '0',
        '--model',
        'models:/logit/1',
        '--canary',
        'models:/logit@challenger',
        '--canary-percent',
        '10',
      ],
      { cwd: dir, env: ENV },
    );
    await server.waitFor(/canary:.*\n/);
    const [, url] = await server.waitFor(/keel serving on (\S+)/);
    const { stdout } = server.output();
    expect(stdout).toContain(
      "canary: models:/logit@challenger is not serving: it did not load (Registered model alias challenger not found on model 'logit'); it takes no traffic until a refresh loads it",
    );
    expect(stdout).not.toMatch(/takes 10% of the traffic/);
    const ready = (await (await fetch(`${url}/ready`)).json()) as {
      checks: { models: { served: Array<{ canary: unknown }> } };
    };
    expect(ready.checks.models.served[0].canary).toEqual({
      uri: 'models:/logit@challenger',
      version: null,
      serving: false,
      percent: 10,
    });
    expect(await server.stop()).toBe(0);
  });

  it('answers -h with its help, not as --host', async () => {
    const res = await keel(['serve', '-h'], { cwd: dir });
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Usage: keel serve [options]');
    expect(res.stdout).toContain('--host <host>');
  });

  it('exits with the error code of a model that does not load', { timeout: 120_000 }, async () => {
    const res = await keel(['serve', '--port', '0', '--model', 'models:/churn@champion'], {
      cwd: dir,
      env: ENV,
    });
    expect(res.code, res.stderr).toBe(4);
    expect(res.stderr).toContain("keel: Registered model alias champion not found on model 'churn'");
    const twice = await keel(
      ['serve', '--port', '0', '-m', 'models:/logit/1', '--model', 'models:/logit/1'],
      {
        cwd: dir,
        env: ENV,
      },
    );
    expect(twice.code, twice.stderr).toBe(2);
    expect(twice.stderr).toContain("model 'logit' is given twice");
    const lone = await keel(['serve', '--port', '0', '--canary', 'models:/logit/2'], { cwd: dir, env: ENV });
    expect(lone.code, lone.stderr).toBe(2);
    expect(lone.stderr).toContain('--canary needs exactly one --model');
    const shadow = await keel(['serve', '--port', '0', '--shadow', 'models:/logit/2'], {
      cwd: dir,
      env: ENV,
    });
    expect(shadow.code, shadow.stderr).toBe(2);
    expect(shadow.stderr).toContain('--shadow needs exactly one --model to copy traffic with');
  });
});
