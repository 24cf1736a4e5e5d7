/**
 * Retraining over real parts: the model's recipe (`keel train --config`) runs as a child process
 * against the project's store, its model is registered with the run's lineage and profiled, the
 * gates are evaluated, Staging and the canary alias follow as the policy allows. Each trigger kind
 * registers a new version; two triggers at once run one retraining.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/index.js';
import { buildApp } from '../../src/server/index.js';
import { serviceUrl } from '../helpers/services.js';
import { logTraffic, type MonitoredWorld, monitoredWorld, rowsOf, writeRecipe } from './world.js';

const HOUR = 3_600_000;
const H = Date.UTC(2024, 4, 1, 0);

export const KEEL_YAML = [
  'monitoring:',
  '  models:',
  '    churn:',
  '      window: 1h',
  '      checks: [drift, performance]',
  '      retrain:',
  '        recipe: { train: train.yaml }',
  '        triggers: { drift: { psi: 0.2, share: 0.5 }, performance: { drop: 0.1 } }',
  '        promote: { stage: Staging, canaryAlias: challenger }',
].join('\n');

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`retraining (${backend})`, async () => {
    const pg = backend === 'postgres' ? await serviceUrl('postgres') : undefined;
    const run = backend === 'sqlite' || pg !== undefined;
    const clock = new ManualClock(H + 2 * HOUR);
    let world: MonitoredWorld;
    beforeAll(async () => {
      if (!run) return;
      world = await monitoredWorld(backend, pg, { clock, keelYaml: KEEL_YAML });
      writeRecipe(world.dir);
      // Hour 1: drifted. Hour 2: like the training data, labelled, but every label wrong.
      await logTraffic(world, [{ at: H, rows: rowsOf(300, 41, 1), prefix: 'a' }]);
      await logTraffic(world, [
        { at: H + HOUR, rows: rowsOf(300, 42), prefix: 'b', labels: true, flipLabels: true },
      ]);
    }, 60_000);
    afterAll(async () => world?.close());

    it.skipIf(!run)(
      'retrains on an event: registers the run with lineage, profiles it, stages it and points the canary at it',
      async () => {
        const r = await world.monitoring.retrain('churn', {
          reason: 'new data from the warehouse',
          requestedBy: 'ops',
        });
        expect(r).toMatchObject({
          model: 'churn',
          cause: 'event',
          status: 'succeeded',
          requestedBy: 'ops',
          error: null,
        });
        expect(r.result).toMatchObject({
          version: '2',
          profiled: true,
          canary: { alias: 'challenger', version: '2' },
        });
        expect(r.result.promotion).toMatchObject({ stage: 'Staging', status: 'promoted' });
        expect(r.result.productionGates?.length).toBeGreaterThan(0);
        const v2 = await world.registry.versions.get('churn', 2);
        expect(v2.run_id).toBe(r.result.runId);
        expect(v2.current_stage).toBe('Staging');
        expect(v2.tags).toEqual(
          expect.arrayContaining([
            { key: 'keel.retrain.cause', value: 'event' },
            { key: 'keel.retrain.id', value: String(r.id) },
          ]),
        );
        expect((await world.registry.getByAlias('churn', 'challenger')).version).toBe('2');
        const run = await world.registry.tracking.runs.get(r.result.runId as string);
        expect(run.data.params.find((p) => p.key === 'data_path')?.value).toBe('fresh.csv');
        expect((await world.monitoring.profiles.get('churn', 2))?.rows).toBe(1500);
      },
      120_000,
    );

    it.skipIf(!run)(
      'retrains on drift found by a monitor run, once: the cooldown holds the next drifted run',
      async () => {
        const drifted = await world.monitoring.run('churn', { asOf: H + HOUR });
        expect(drifted.retraining).toMatchObject({
          cause: 'drift',
          status: 'succeeded',
          requestedBy: 'monitor',
        });
        expect(drifted.retraining?.reason).toMatch(/PSI above 0\.2 on \d of 3 features of version 1/);
        expect(drifted.retraining?.evidence).toMatchObject({
          runId: drifted.id,
          version: '1',
          window: { start: H, end: H + HOUR },
        });
        expect(drifted.retraining?.result.version).toBe('3');
        const again = await world.monitoring.run('churn', { asOf: H + HOUR });
        expect(again.retraining).toBeUndefined();
      },
      120_000,
    );

    it.skipIf(!run)(
      'retrains on a performance drop',
      async () => {
        const wrong = await world.monitoring.run('churn', { asOf: H + 2 * HOUR });
        expect(wrong.versions[0].performance?.drop).toBeGreaterThan(0.1);
        expect(wrong.retraining).toMatchObject({ cause: 'performance', status: 'succeeded' });
        expect(wrong.retraining?.reason).toMatch(/roc_auc of version 1 fell [\d.]+% below the run's 0\.900/);
        expect(wrong.retraining?.result.version).toBe('4');
      },
      120_000,
    );

    it.skipIf(!run)(
      'runs one retraining when two triggers come at once; the other is recorded as skipped',
      async () => {
        const [a, b] = await Promise.all([
          world.monitoring.retrain('churn', { reason: 'first', cause: 'schedule' }),
          world.monitoring.retrain('churn', { reason: 'second' }),
        ]);
        const statuses = [a.status, b.status].sort();
        expect(statuses).toEqual(['skipped', 'succeeded']);
        const [done, skipped] = a.status === 'succeeded' ? [a, b] : [b, a];
        expect(skipped.result.runningId).toBe(done.id);
        expect(done.result.version).toBe('5');
        const history = await world.monitoring.retrainings.history('churn');
        expect(history.map((h) => h.cause).sort()).toEqual([
          'drift',
          'event',
          'event',
          'performance',
          'schedule',
        ]);
      },
      120_000,
    );

    it.skipIf(!run)(
      'records a failing recipe with its output, and refuses a model without a recipe',
      async () => {
        writeFileSync(
          join(world.dir, 'train.yaml'),
          'data: { path: missing.csv, target: churned }\nmodel: { kind: gbdt }\n',
        );
        const failed = await world.monitoring.retrain('churn', { reason: 'broken recipe' });
        expect(failed.status).toBe('failed');
        expect(failed.error).toMatch(/keel train --config train\.yaml .* failed \(exit \d+\).*missing\.csv/s);
        expect(failed.result.version).toBeUndefined();
        await expect(world.monitoring.retrain('other', { reason: 'x' })).rejects.toThrow(
          /model 'other' has no training recipe: add monitoring\.models\.other\.retrain\.recipe/,
        );
        writeRecipe(world.dir);
      },
      120_000,
    );

    it.skipIf(!run || backend === 'postgres')(
      'takes an event over HTTP: 202 while it runs, 409 for a second one, then the history',
      async () => {
        const app = await buildApp({
          services: {
            tracking: world.registry.tracking,
            registry: world.registry,
            monitoring: world.monitoring,
          },
          logger: false,
        });
        try {
          const post = (body: unknown) =>
            app.inject({
              method: 'POST',
              url: '/api/2.0/keel/retrain',
              payload: body as Record<string, unknown>,
            });
          const started = await post({ model: 'churn', reason: 'over HTTP' });
          expect(started.statusCode).toBe(202);
          const id = started.json().retraining.id as number;
          const second = await post({ model: 'churn', reason: 'again' });
          expect(second.statusCode).toBe(409);
          expect(second.json()).toMatchObject({
            error_code: 'FAILED_PRECONDITION',
            retraining: { status: 'skipped' },
          });
          expect((await post({ model: 'churn' })).statusCode).toBe(400);
          expect((await post({ model: 'nope', reason: 'x' })).statusCode).toBe(400);
          await world.monitoring.retrainer.idle();
          const got = await app.inject({ method: 'GET', url: `/api/2.0/keel/retrain/get?id=${id}` });
          expect(got.json().retraining).toMatchObject({
            status: 'succeeded',
            requestedBy: expect.any(String),
          });
          const history = await app.inject({
            method: 'GET',
            url: '/api/2.0/keel/retrain/history?model=churn&max_results=2',
          });
          expect(history.json().retrainings.map((r: { reason: string }) => r.reason)).toEqual([
            'again',
            'over HTTP',
          ]);
        } finally {
          await app.close();
        }
      },
      120_000,
    );
  });
}
