/**
 * `keel serve --model <uri>` as a child process: it loads the models, prints where it listens,
 * scores over HTTP and stops on SIGTERM; a model that does not load stops it with its error and
 * exit code.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/core/index.js';
import { Registry } from '../../../src/registry/index.js';
import { tempHome } from '../../features/helpers.js';
import { CLI, keel } from '../../helpers/cli.js';
import { writeLogisticModel } from '../../helpers/onnx.js';

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

  /** Starts `keel serve` with `args` and resolves once `started` accepts what it printed. */
  function serve<T>(args: string[], started: (stdout: string) => T | undefined) {
    let stdout = '';
    let stderr = '';
    const server = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], {
      cwd: dir,
      env: { ...process.env, ...ENV },
    });
    server.stderr.on('data', (d) => {
      stderr += d;
    });
    const stopped = new Promise<number | null>((resolve) => server.on('exit', resolve));
    const ready = new Promise<T>((resolve, reject) => {
      server.stdout.on('data', (d) => {
        stdout += d;
        const value = started(stdout);
        if (value !== undefined) resolve(value);
      });
      server.on('exit', () => reject(new Error(`keel serve exited: ${stderr}`)));
    });
    const stop = async () => {
      server.kill('SIGTERM');
      return stopped;
    };
    return { ready, stop };
  }
  const json = (stdout: string) => {
    try {
      return JSON.parse(stdout) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };

  // A child process loads ONNX Runtime and the registry: slow on a busy machine.
  it('serves the model, here with a canary taking all traffic, until SIGTERM', {
    timeout: 120_000,
  }, async () => {
    const server = serve(
      ['--json', '--model', 'models:/logit/1', '--canary', 'models:/logit/2', '--canary-percent', '100'],
      json,
    );
    const started = (await server.ready) as { url: string };
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
    expect(await server.stop()).toBe(0);
  });

  it('never announces a canary that did not load as taking traffic', { timeout: 120_000 }, async () => {
    const server = serve(
      ['--model', 'models:/logit/1', '--canary', 'models:/logit@challenger', '--canary-percent', '10'],
      (stdout) => (stdout.includes('canary:') ? stdout : undefined),
    );
    const stdout = await server.ready;
    expect(stdout).toContain(
      "canary: models:/logit@challenger is not serving: it did not load (Registered model alias challenger not found on model 'logit'); it takes no traffic until a refresh loads it",
    );
    expect(stdout).not.toMatch(/takes 10% of the traffic/);
    const url = /keel serving on (\S+)/.exec(stdout)?.[1];
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

  it('exits with the error code of a model that does not load', { timeout: 120_000 }, () => {
    const res = keel(['serve', '--port', '0', '--model', 'models:/churn@champion'], { cwd: dir, env: ENV });
    expect(res.code, res.stderr).toBe(4);
    expect(res.stderr).toContain("keel: Registered model alias champion not found on model 'churn'");
    const twice = keel(['serve', '--port', '0', '-m', 'models:/logit/1', '--model', 'models:/logit/1'], {
      cwd: dir,
      env: ENV,
    });
    expect(twice.code, twice.stderr).toBe(2);
    expect(twice.stderr).toContain("model 'logit' is given twice");
    const lone = keel(['serve', '--port', '0', '--canary', 'models:/logit/2'], { cwd: dir, env: ENV });
    expect(lone.code, lone.stderr).toBe(2);
    expect(lone.stderr).toContain('--canary needs exactly one --model');
  });
});
