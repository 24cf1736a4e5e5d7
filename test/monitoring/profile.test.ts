import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/index.js';
import {
  binCounts,
  buildProfile,
  parseProfile,
  percentileSorted,
  psiOfShares,
  serializeProfile,
  sharesOf,
  sortedSample,
} from '../../src/monitoring/index.js';
import { serviceUrl } from '../helpers/services.js';
import { FEATURES, type MonitoredWorld, monitoredWorld, rowsOf, writeCsv } from './world.js';

describe('buildProfile', () => {
  const n = 25_000;
  const values = Float64Array.from({ length: n }, (_, i) => (i % 50 === 0 ? Number.NaN : (i * 7919) % 1000));
  const labels = Array.from({ length: n }, (_, i) => (i % 10 === 0 ? null : i % 3 === 0 ? 'gold' : 'basic'));
  const scores = Float64Array.from({ length: n }, (_, i) => (i % 100) / 100);
  const profile = buildProfile({
    model: 'm',
    version: '2',
    createdAt: 5,
    source: { path: 'x.csv' },
    columns: [
      { name: 'amount', values },
      { name: 'plan', labels },
    ],
    scores,
    task: 'binary',
    metrics: { roc_auc: 0.8 },
  });

  it('keeps counts, range, deciles and bin shares of every row, and a sample of 10,000 rows', () => {
    const [amount, plan] = profile.features;
    if (amount.type !== 'numerical' || plan.type !== 'categorical') throw new Error('types');
    // i = 0 mod 1000 gives 0, but those rows are missing (i = 0 mod 50).
    expect(amount).toMatchObject({ rows: n, missing: n / 50, min: 1, max: 999 });
    const present = values.filter((x) => !Number.isNaN(x)).sort();
    expect(amount.breakpoints).toEqual(
      [10, 20, 30, 40, 50, 60, 70, 80, 90].map((q) => percentileSorted(present, q)),
    );
    expect(amount.shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(amount.shares).toEqual(sharesOf(binCounts(present, amount.breakpoints).counts));
    expect(amount.sample.length).toBe(10_000);
    expect(plan.missing).toBe(n / 10);
    expect(plan.categories.map((c) => c.value)).toEqual(['basic', 'gold']);
    expect(plan.categories[1].share).toBeCloseTo(
      labels.filter((l) => l === 'gold').length / (n - n / 10),
      12,
    );
    expect(plan.sample.length).toBe(10_000);
    expect(profile.scores.rows).toBe(n);
    expect(profile.sampleRows).toBe(10_000);
  });

  it('samples the same rows for every feature and the scores, the same way each time', () => {
    const again = buildProfile({ ...profile, columns: [{ name: 'amount', values }], scores });
    const amount = profile.features[0];
    if (amount.type !== 'numerical') throw new Error('type');
    expect(again.features[0]).toEqual(amount);
    // Row i of the sample: amount is (k * 7919) % 1000 and the score (k % 100) / 100 for one k.
    for (let i = 0; i < 50; i++) {
      const a = amount.sample[i];
      const s = profile.scores.sample[i];
      if (Number.isNaN(a)) continue;
      const ks = Array.from({ length: n }, (_, k) => k).filter(
        (k) => (k * 7919) % 1000 === a && k % 50 !== 0,
      );
      expect(ks.some((k) => (k % 100) / 100 === s)).toBe(true);
    }
  });

  it('round-trips through its JSON form, samples bit for bit', () => {
    const back = parseProfile(serializeProfile(profile));
    expect(back).toEqual(profile);
    expect(back.features[0].sample).toBeInstanceOf(Float64Array);
    expect(serializeProfile(profile).length).toBeLessThan(400_000);
  });

  it('PSI from the stored shares equals PSI over the full reference', () => {
    const amount = profile.features[0];
    if (amount.type !== 'numerical') throw new Error('type');
    const current = Float64Array.from({ length: 5000 }, (_, i) => (i * 31) % 1200);
    const fromProfile = psiOfShares(amount.shares, sharesOf(binCounts(current, amount.breakpoints).counts));
    const present = values.filter((x) => !Number.isNaN(x)).sort();
    const full = psiOfShares(
      sharesOf(binCounts(present, amount.breakpoints).counts),
      sharesOf(binCounts(current, amount.breakpoints).counts),
    );
    expect(fromProfile).toBe(full);
    expect(fromProfile).toBeGreaterThan(0.05);
  });
});

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`a version's profile (${backend})`, async () => {
    const pg = backend === 'postgres' ? await serviceUrl('postgres') : undefined;
    let world: MonitoredWorld;
    beforeAll(async () => {
      world = await monitoredWorld(backend, pg);
    });
    afterAll(async () => world?.close());

    it.skipIf(backend === 'postgres' && !pg)(
      'is built on first use from the training data its run names, then read back',
      async () => {
        const first = await world.monitoring.profile('churn', 1);
        expect(first.source).toEqual({ path: world.trainingFile, runId: world.runId });
        expect(first.rows).toBe(2000);
        expect(first.features.map((f) => f.name)).toEqual([...FEATURES]);
        expect(first.metrics).toEqual({ roc_auc: 0.9, accuracy: 0.8 });
        expect(first.task).toBe('binary');
        const tenure = first.features[0];
        if (tenure.type !== 'numerical') throw new Error('type');
        expect(tenure.min).toBeGreaterThanOrEqual(0);
        expect(tenure.max).toBeLessThanOrEqual(100);
        // Scores of a classifier are probabilities, one per training row.
        expect(first.scores.min).toBeGreaterThan(0);
        expect(first.scores.max).toBeLessThan(1);
        expect(sortedSample(first.scores).length).toBe(2000);
        // Stored: the training file can go, the profile stays.
        const stored = await world.monitoring.profiles.get('churn', '1');
        expect(stored).toEqual(first);
        expect(await world.monitoring.profile('churn', '1')).toEqual(first);
      },
    );

    it.skipIf(backend === 'postgres' && !pg)(
      'is replaced when data is given, and refused with a clear message when no data can be found',
      async () => {
        const other = join(world.dir, 'other.csv');
        writeCsv(other, rowsOf(300, 9, 1));
        const rebuilt = await world.monitoring.profile('churn', 1, { data: other });
        expect(rebuilt.rows).toBe(300);
        expect((await world.monitoring.profiles.get('churn', 1))?.rows).toBe(300);

        const missing = join(world.dir, 'lacks.csv');
        writeCsv(missing, rowsOf(10, 3));
        const text = readFileSync(missing, 'utf8').replace('spend', 'price');
        const { writeFileSync } = await import('node:fs');
        writeFileSync(missing, text);
        await expect(world.monitoring.profile('churn', 1, { data: missing })).rejects.toThrow(
          /feature column 'spend' is not in/,
        );

        // A version registered from a bare file has no run, so nothing names its data.
        await world.registry.versions.create({ name: 'churn', source: join(world.dir, 'model.onnx') });
        const err = await world.monitoring.profile('churn', 2).catch((e) => e);
        expect(isKeelError(err, 'RESOURCE_DOES_NOT_EXIST')).toBe(true);
        expect(err.message).toMatch(/keel monitor profile churn 2 --data/);
        await expect(world.monitoring.profile('churn', 9)).rejects.toThrow(/not found|does not exist/i);
      },
    );
  });
}
