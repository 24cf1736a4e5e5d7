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
    expect(c.metadata).toEqual({ type: 'sqlite', path: join(cwd, '.keel', 'keel.db') });
    expect(c.onlineStore).toEqual({ type: 'sqlite', path: join(cwd, '.keel', 'online.db') });
    expect(c.artifacts.root).toBe(join(cwd, '.keel', 'artifacts'));
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
});
