import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/index.js';
import { tempDir } from '../helpers/tracking.js';

describe('config', () => {
  it('defaults to the embedded stores under ./.keel', () => {
    const cwd = tempDir();
    const c = loadConfig({ cwd, env: {} });
    expect(c.home).toBe(join(cwd, '.keel'));
    expect(c.metadata).toEqual({ type: 'sqlite', path: join(cwd, '.keel', 'keel.db'), synchronous: 'full' });
    expect(c.onlineStore).toEqual({ type: 'sqlite', path: join(cwd, '.keel', 'online.db') });
    expect(c.artifacts).toEqual({ type: 'local', root: join(cwd, '.keel', 'artifacts') });
    expect(c.server).toEqual({ host: '127.0.0.1', port: 5000 });
  });

  it('reads keel.yaml and lets the environment override it', () => {
    const cwd = tempDir();
    writeFileSync(
      join(cwd, 'keel.yaml'),
      'home: data/keel\nonlineStore: { type: redis, url: redis://127.0.0.1:6379 }\nserver: { port: 6000 }\n',
    );
    const fromFile = loadConfig({ cwd, env: {} });
    expect(fromFile.home).toBe(join(cwd, 'data', 'keel'));
    expect(fromFile.onlineStore).toEqual({ type: 'redis', url: 'redis://127.0.0.1:6379' });
    expect(fromFile.server.port).toBe(6000);
    const overridden = loadConfig({
      cwd,
      env: { KEEL_HOME: '/srv/keel', KEEL_DB: 'postgres://u@h/db', KEEL_ONLINE_STORE: 'online.sqlite' },
    });
    expect(overridden.home).toBe('/srv/keel');
    expect(overridden.metadata).toEqual({ type: 'postgres', url: 'postgres://u@h/db' });
    expect(overridden.onlineStore).toEqual({ type: 'sqlite', path: join(cwd, 'online.sqlite') });
  });

  it('names the field of a malformed keel.yaml, and refuses unknown keys', () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'keel.yaml'), 'server: { port: "http" }\n');
    expect(() => loadConfig({ cwd, env: {} })).toThrow(/server\.port/);
    writeFileSync(join(cwd, 'keel.yaml'), 'metadta: { type: sqlite }\n');
    expect(() => loadConfig({ cwd, env: {} })).toThrow(/metadta/);
    writeFileSync(join(cwd, 'keel.yaml'), 'home: [unclosed\n');
    expect(() => loadConfig({ cwd, env: {} })).toThrow(/not valid YAML/);
    expect(() => loadConfig({ cwd: tempDir(), env: { KEEL_LOG_LEVEL: 'loud' } })).toThrow(/KEEL_LOG_LEVEL/);
  });

  it('reads the serving section, leaving unset batching values to serving', () => {
    const cwd = tempDir();
    expect(loadConfig({ cwd, env: {} }).serving).toBeUndefined();
    writeFileSync(join(cwd, 'keel.yaml'), 'serving: { maxBatchSize: 32 }\n');
    expect(loadConfig({ cwd, env: {} }).serving).toEqual({ maxBatchSize: 32 });
    writeFileSync(join(cwd, 'keel.yaml'), 'serving: { maxBatchSize: 0 }\n');
    expect(() => loadConfig({ cwd, env: {} })).toThrow(/serving\.maxBatchSize/);
    writeFileSync(join(cwd, 'keel.yaml'), 'serving: { maxLatencyMs: -1 }\n');
    expect(() => loadConfig({ cwd, env: {} })).toThrow(/serving\.maxLatencyMs/);
    writeFileSync(join(cwd, 'keel.yaml'), 'serving: { batchSize: 8 }\n');
    expect(() => loadConfig({ cwd, env: {} })).toThrow(/batchSize/);
  });

  it('reads the ONNX Runtime session settings of serving, naming a bad one', () => {
    const cwd = tempDir();
    writeFileSync(
      join(cwd, 'keel.yaml'),
      'serving: { onnx: { graphOptimizationLevel: extended, intraOpThreads: 2, interOpThreads: 1 } }\n',
    );
    expect(loadConfig({ cwd, env: {} }).serving).toEqual({
      onnx: { graphOptimizationLevel: 'extended', intraOpThreads: 2, interOpThreads: 1 },
    });
    const bad: Array<[string, RegExp]> = [
      ['serving: { onnx: { graphOptimizationLevel: max } }', /serving\.onnx\.graphOptimizationLevel/],
      ['serving: { onnx: { intraOpThreads: 0 } }', /serving\.onnx\.intraOpThreads/],
      ['serving: { onnx: { threads: 2 } }', /serving\.onnx: .*threads/],
    ];
    for (const [text, message] of bad) {
      writeFileSync(join(cwd, 'keel.yaml'), `${text}\n`);
      expect(() => loadConfig({ cwd, env: {} }), text).toThrow(message);
    }
  });

  it('reads input policies for every model and per model, naming a bad field', () => {
    const cwd = tempDir();
    const yaml = [
      'serving:',
      '  inputPolicy: { unseenCategory: refuse, maxMissingShare: 0.5 }',
      '  models:',
      '    churn: { inputPolicy: { allMissing: score } }',
    ];
    writeFileSync(join(cwd, 'keel.yaml'), `${yaml.join('\n')}\n`);
    expect(loadConfig({ cwd, env: {} }).serving).toEqual({
      inputPolicy: { unseenCategory: 'refuse', maxMissingShare: 0.5 },
      models: { churn: { inputPolicy: { allMissing: 'score' } } },
    });
    const bad: Array<[string, RegExp]> = [
      ['serving: { inputPolicy: { unseenCategory: ignore } }', /serving\.inputPolicy\.unseenCategory/],
      ['serving: { inputPolicy: { maxMissingShare: 1.5 } }', /serving\.inputPolicy\.maxMissingShare/],
      [
        'serving: { models: { churn: { inputPolicy: { allMissing: yes } } } }',
        /serving\.models\.churn\.inputPolicy\.allMissing/,
      ],
      ['serving: { models: { churn: { batch: 1 } } }', /serving\.models\.churn: .*batch/],
    ];
    for (const [text, message] of bad) {
      writeFileSync(join(cwd, 'keel.yaml'), `${text}\n`);
      expect(() => loadConfig({ cwd, env: {} }), text).toThrow(message);
    }
  });

  it("takes the Redis online store's timeout from keel.yaml, also under KEEL_ONLINE_STORE", () => {
    const cwd = tempDir();
    writeFileSync(
      join(cwd, 'keel.yaml'),
      'onlineStore: { type: redis, url: redis://r:6379, timeoutMs: 250 }\n',
    );
    expect(loadConfig({ cwd, env: {} }).onlineStore).toEqual({
      type: 'redis',
      url: 'redis://r:6379',
      timeoutMs: 250,
    });
    expect(loadConfig({ cwd, env: { KEEL_ONLINE_STORE: 'redis://other:6379' } }).onlineStore).toEqual({
      type: 'redis',
      url: 'redis://other:6379',
      timeoutMs: 250,
    });
    writeFileSync(
      join(cwd, 'keel.yaml'),
      'onlineStore: { type: redis, url: redis://r:6379, timeoutMs: 0 }\n',
    );
    expect(() => loadConfig({ cwd, env: {} })).toThrow(/onlineStore\.timeoutMs/);
  });

  it("takes the SQLite online store's cache setting, also under KEEL_ONLINE_STORE, and refuses a TTL", () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'keel.yaml'), 'onlineStore: { type: sqlite, cache: false }\n');
    expect(loadConfig({ cwd, env: {} }).onlineStore).toEqual({
      type: 'sqlite',
      path: join(cwd, '.keel', 'online.db'),
      cache: false,
    });
    writeFileSync(join(cwd, 'keel.yaml'), 'onlineStore: { type: sqlite, cache: { maxBytes: 1048576 } }\n');
    expect(loadConfig({ cwd, env: { KEEL_ONLINE_STORE: 'other.db' } }).onlineStore).toEqual({
      type: 'sqlite',
      path: join(cwd, 'other.db'),
      cache: { maxBytes: 1048576 },
    });
    // A coherent cache has nothing to expire.
    writeFileSync(join(cwd, 'keel.yaml'), 'onlineStore: { type: sqlite, cache: { ttlMs: 1000 } }\n');
    expect(() => loadConfig({ cwd, env: {} })).toThrow(/onlineStore\.cache/);
  });
});
