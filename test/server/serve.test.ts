/**
 * `keel serve` as started by the CLI: every API family on one port over the configured stores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/index.js';
import { startServer } from '../../src/server/index.js';
import { tempDir } from '../helpers/tracking.js';

describe('startServer', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    server = await startServer(loadConfig({ cwd: tempDir(), env: {} }), { port: 0 });
  });
  afterAll(async () => server.close());

  it('serves health, MLflow tracking and registry, and the Feast feature server on one port', async () => {
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const exp = await fetch(`${server.url}/api/2.0/mlflow/experiments/get?experiment_id=0`);
    expect(((await exp.json()) as { experiment: { name: string } }).experiment.name).toBe('Default');
    const models = await fetch(`${server.url}/api/2.0/mlflow/registered-models/search`);
    expect(models.status).toBe(200);
    const feast = await fetch(`${server.url}/get-online-features`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ features: ['customer:nope'], entities: { customer_id: [1] } }),
    });
    expect(feast.status).toBeGreaterThanOrEqual(400);
    expect(feast.status).toBeLessThan(500);
    expect(((await feast.json()) as { message: string }).message).toMatch(/customer/);
  });
});
