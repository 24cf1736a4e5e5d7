/**
 * Latency measurement in ONNX Runtime on a sample batch, stored on the version for the latency
 * gate, for a Keel-built model and an sklearn-shaped one with a non-tensor output.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '../../src/registry/index.js';
import { sklearnLikeModelBytes, writeLogisticModel } from '../helpers/onnx.js';
import { openTestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tracking.js';

describe('benchmark and the latency gate', () => {
  let registry: Registry;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ registry, cleanup } = await openTestRegistry('sqlite', undefined, {
      policy: {
        productionAlias: null,
        stages: { Staging: { requireApproval: false, gates: [{ kind: 'latency', maxP99Ms: 10_000 }] } },
      },
    }));
    await registry.models.create('churn');
    const skl = join(tempDir(), 'skl.onnx');
    writeFileSync(skl, sklearnLikeModelBytes());
    await registry.versions.create({ name: 'churn', source: writeLogisticModel(tempDir()) });
    await registry.versions.create({ name: 'churn', source: skl });
  });
  afterAll(async () => cleanup());

  it('refuses promotion until the version is measured, then stores p50/p99 and passes', async () => {
    const refused = await registry.promote('churn', 1, 'Staging').catch((e) => e);
    expect(refused).toMatchObject({ code: 'FAILED_PRECONDITION' });
    expect(refused.details.gates[0]).toMatchObject({ gate: 'latency p99 < 10000 ms', passed: false });
    const result = await registry.benchmark('churn', 1, { batchSize: 16, iterations: 25 });
    expect(result).toMatchObject({ batch_size: 16, iterations: 25 });
    expect(result.p50_ms).toBeLessThanOrEqual(result.p99_ms);
    expect((await registry.versions.getPackage('churn', 1)).benchmark).toEqual(result);
    const promoted = await registry.promote('churn', 1, 'Staging');
    expect(promoted.gates[0]).toMatchObject({ passed: true, evidence: { p99_ms: result.p99_ms } });
    await expect(
      registry.as({ user: 'x', role: 'reader' }).benchmark('churn', 1, { iterations: 1 }),
    ).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
    });
  });

  it('benchmarks a model with a non-tensor output', async () => {
    const result = await registry.benchmark('churn', 2, { batchSize: 4, iterations: 10 });
    expect(result.iterations).toBe(10);
    const resolved = await registry.resolveModelUri('models:/churn/2');
    expect(resolved.package.signature.outputs.map((o) => o.type)).toEqual(['int64', 'non-tensor']);
  });
});
