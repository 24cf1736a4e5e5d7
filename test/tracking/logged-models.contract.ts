/**
 * The logged-model store contract (MLflow 3), run on every metadata backend alongside the
 * tracking contract: create, finalize, tags, params, soft delete, metrics linked from runs, and
 * search with MLflow's filter, datasets, order_by and pages.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/index.js';
import type { Tracking } from '../../src/tracking/index.js';
import { type Backend, openTestTracking } from '../helpers/tracking.js';

export function describeLoggedModelContract(backend: Backend, postgresUrl?: string): void {
  describe(`logged models on ${backend}`, () => {
    let tracking: Tracking;
    let cleanup: () => Promise<void>;
    const clock = new ManualClock(1_700_000_000_000);

    beforeEach(async () => {
      ({ tracking, cleanup } = await openTestTracking(backend, postgresUrl, clock));
    });
    afterEach(async () => cleanup());

    it('creates a PENDING model under the experiment artifact root, then finalizes it', async () => {
      const exp = await tracking.experiments.create('lm');
      const created = await tracking.loggedModels.create({
        experimentId: exp,
        name: 'clf',
        modelType: 'classifier',
        sourceRunId: 'abc123',
        params: [{ key: 'alpha', value: '0.5' }],
        tags: [{ key: 'team', value: 'growth' }],
      });
      const id = created.info.model_id;
      expect(id).toMatch(/^m-[0-9a-f]{32}$/);
      expect(created).toEqual({
        info: {
          model_id: id,
          experiment_id: exp,
          name: 'clf',
          creation_timestamp_ms: clock.now(),
          last_updated_timestamp_ms: clock.now(),
          artifact_uri: `mlflow-artifacts:/${exp}/models/${id}/artifacts`,
          status: 'LOGGED_MODEL_PENDING',
          model_type: 'classifier',
          source_run_id: 'abc123',
          tags: [{ key: 'team', value: 'growth' }],
        },
        data: { params: [{ key: 'alpha', value: '0.5' }], metrics: [] },
      });
      clock.advance(2000);
      const ready = await tracking.loggedModels.finalize(id, 'LOGGED_MODEL_READY');
      expect(ready.info.status).toBe('LOGGED_MODEL_READY');
      expect(ready.info.last_updated_timestamp_ms).toBe(clock.now());
      expect(ready.info.creation_timestamp_ms).toBe(clock.now() - 2000);
      await expect(tracking.loggedModels.finalize(id, 'LOGGED_MODEL_PENDING')).rejects.toMatchObject({
        code: 'INVALID_PARAMETER_VALUE',
      });

      const unnamed = await tracking.loggedModels.create({ experimentId: exp, name: '' });
      expect(unnamed.info.name).toMatch(/^[a-z]+-[a-z]+-\d+$/);
      expect(unnamed.info.model_type).toBeUndefined();
    });

    it('refuses unknown or deleted experiments and names MLflow forbids', async () => {
      await expect(tracking.loggedModels.create({ experimentId: '42' })).rejects.toMatchObject({
        code: 'RESOURCE_DOES_NOT_EXIST',
      });
      const exp = await tracking.experiments.create('gone');
      await tracking.experiments.delete(exp);
      await expect(tracking.loggedModels.create({ experimentId: exp })).rejects.toThrow(
        /must be in the 'active' state/,
      );
      for (const name of ['a/b', 'v1.2', 'x:y', '50%']) {
        await expect(tracking.loggedModels.create({ experimentId: '0', name })).rejects.toMatchObject({
          code: 'INVALID_PARAMETER_VALUE',
          message: expect.stringContaining(name),
        });
      }
      await expect(
        tracking.loggedModels.create({ experimentId: '0', tags: [{ key: 'note', value: 'x'.repeat(8001) }] }),
      ).rejects.toThrow("tag 'note' value is 8001 characters, the limit is 8000");
      await expect(
        tracking.loggedModels.create({ experimentId: '0', params: [{ key: 'lr', value: 'x'.repeat(6001) }] }),
      ).rejects.toThrow("model param 'lr' value is 6001 characters, the limit is 6000");
      expect((await tracking.loggedModels.search({ experimentIds: ['0'] })).items).toEqual([]);
    });

    it('sets and deletes tags, keeps params write-once, and deletes softly', async () => {
      const { info } = await tracking.loggedModels.create({ experimentId: '0', name: 'm' });
      const id = info.model_id;
      await tracking.loggedModels.setTags(id, [
        { key: 'stage', value: 'dev' },
        { key: 'stage', value: 'prod' },
        { key: 'owner', value: 'ann' },
      ]);
      await tracking.loggedModels.deleteTag(id, 'owner');
      await expect(tracking.loggedModels.deleteTag(id, 'owner')).rejects.toMatchObject({
        code: 'RESOURCE_DOES_NOT_EXIST',
      });
      await tracking.loggedModels.logParams(id, [{ key: 'lr', value: '0.1' }]);
      await tracking.loggedModels.logParams(id, [{ key: 'lr', value: '0.1' }]);
      await expect(tracking.loggedModels.logParams(id, [{ key: 'lr', value: '0.2' }])).rejects.toThrow(
        /Changing param values is not allowed.*logged model ID/,
      );
      const got = await tracking.loggedModels.get(id);
      expect(got.info.tags).toEqual([{ key: 'stage', value: 'prod' }]);
      expect(got.data.params).toEqual([{ key: 'lr', value: '0.1' }]);

      await tracking.loggedModels.delete(id);
      await expect(tracking.loggedModels.get(id)).rejects.toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
      await expect(tracking.loggedModels.setTags(id, [{ key: 'a', value: 'b' }])).rejects.toMatchObject({
        code: 'RESOURCE_DOES_NOT_EXIST',
      });
      await tracking.loggedModels.delete(id);
      await expect(tracking.loggedModels.delete('m-nope')).rejects.toMatchObject({
        code: 'RESOURCE_DOES_NOT_EXIST',
      });
    });

    it('links metric points logged with a model_id, and the run records its model outputs', async () => {
      const { info: run } = await tracking.runs.create({ experimentId: '0' });
      const { info } = await tracking.loggedModels.create({ experimentId: '0', sourceRunId: run.run_id });
      const id = info.model_id;
      await tracking.runs.logBatch(run.run_id, {
        metrics: [{ key: 'acc', value: 0.9, timestamp: 10, step: 1 }],
      });
      // What MLflow's log_model does: the step's points again, now linked to the model.
      const relogged = [
        {
          key: 'acc',
          value: 0.9,
          timestamp: 10,
          step: 1,
          model_id: id,
          dataset_name: 'test',
          dataset_digest: 'd1',
        },
        { key: 'loss', value: Number.NaN, timestamp: 10, step: 1, model_id: id },
      ];
      await tracking.runs.logBatch(run.run_id, { metrics: relogged });
      await tracking.runs.logBatch(run.run_id, { metrics: relogged });
      await tracking.runs.logOutputs(run.run_id, [{ model_id: id, step: 1 }]);
      await tracking.runs.logInputs(run.run_id, [], [{ model_id: id }]);

      expect((await tracking.runs.metricHistory(run.run_id, 'acc')).items).toHaveLength(1);
      expect((await tracking.runs.metricHistory(run.run_id, 'loss')).items).toHaveLength(1);
      const model = await tracking.loggedModels.get(id);
      expect(model.data.metrics[0]).toEqual({
        key: 'acc',
        value: 0.9,
        timestamp: 10,
        step: 1,
        dataset_name: 'test',
        dataset_digest: 'd1',
        model_id: id,
        run_id: run.run_id,
      });
      expect(model.data.metrics[1]).toMatchObject({ key: 'loss', model_id: id });
      expect(model.data.metrics[1].value).toBeNaN();
      expect(model.data.metrics).toHaveLength(2);
      const after = await tracking.runs.get(run.run_id);
      expect(after.outputs.model_outputs).toEqual([{ model_id: id, step: 1 }]);
      expect(after.inputs.model_inputs).toEqual([{ model_id: id }]);

      await expect(
        tracking.runs.logBatch(run.run_id, {
          metrics: [{ key: 'f1', value: 0.5, timestamp: 11, step: 2, model_id: 'm-unknown' }],
        }),
      ).rejects.toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
      expect((await tracking.runs.metricHistory(run.run_id, 'f1')).items).toEqual([]);
      await expect(
        tracking.runs.logOutputs(run.run_id, [{ model_id: 'm-unknown', step: 0 }]),
      ).rejects.toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
    });

    it('searches by attributes, metrics, params, tags and datasets, ordered and paged', async () => {
      const exp = await tracking.experiments.create('search-lm');
      const { info: run } = await tracking.runs.create({ experimentId: exp });
      const ids: Record<string, string> = {};
      for (const [i, name] of ['alpha', 'beta', 'gamma', 'delta'].entries()) {
        clock.advance(1000);
        const { info } = await tracking.loggedModels.create({
          experimentId: exp,
          name,
          params: [{ key: 'depth', value: String(i + 3) }],
          tags: [{ key: 'team', value: i < 2 ? 'growth' : 'risk' }],
        });
        ids[name] = info.model_id;
        if (i !== 3) {
          await tracking.runs.logBatch(run.run_id, {
            metrics: [
              {
                key: 'auc',
                value: 0.7 + i * 0.1,
                timestamp: 100 + i,
                step: 0,
                model_id: info.model_id,
                dataset_name: i === 0 ? 'train' : 'test',
              },
            ],
          });
        }
      }
      await tracking.loggedModels.finalize(ids.beta, 'LOGGED_MODEL_READY');
      await tracking.loggedModels.finalize(ids.gamma, 'LOGGED_MODEL_UPLOAD_FAILED');
      const names = async (options: Partial<Parameters<typeof tracking.loggedModels.search>[0]> = {}) =>
        (await tracking.loggedModels.search({ experimentIds: [exp], ...options })).items.map(
          (m) => m.info.name,
        );

      expect(await names()).toEqual(['delta', 'gamma', 'beta', 'alpha']);
      expect(await names({ filter: "name LIKE '%a'" })).toEqual(['delta', 'gamma', 'beta', 'alpha']);
      expect(await names({ filter: "name = 'beta'" })).toEqual(['beta']);
      expect(await names({ filter: "status = 'READY'" })).toEqual(['beta']);
      expect(await names({ filter: "attributes.status = 'LOGGED_MODEL_UPLOAD_FAILED'" })).toEqual(['gamma']);
      expect(await names({ filter: "status IN ('PENDING')" })).toEqual(['delta', 'alpha']);
      expect(await names({ filter: 'metrics.auc > 0.75' })).toEqual(['gamma', 'beta']);
      expect(await names({ filter: "params.depth = '3' AND tags.team = 'growth'" })).toEqual(['alpha']);
      expect(await names({ filter: "tags.team != 'growth'" })).toEqual(['delta', 'gamma']);
      expect(await names({ filter: `creation_time > ${clock.now() - 500}` })).toEqual(['delta']);
      expect(await names({ filter: 'metrics.auc > 0.6', datasets: [{ dataset_name: 'test' }] })).toEqual([
        'gamma',
        'beta',
      ]);
      expect(await names({ datasets: [{ dataset_name: 'train' }] })).toEqual(['alpha']);
      expect(await names({ orderBy: [{ field_name: 'metrics.auc', ascending: false }] })).toEqual([
        'gamma',
        'beta',
        'alpha',
        'delta',
      ]);
      expect(
        await names({ orderBy: [{ field_name: 'metrics.auc', ascending: true, dataset_name: 'test' }] }),
      ).toEqual(['beta', 'gamma', 'delta', 'alpha']);
      expect(await names({ orderBy: [{ field_name: 'name' }] })).toEqual(['alpha', 'beta', 'delta', 'gamma']);
      expect(await names({ orderBy: [{ field_name: 'creation_timestamp', ascending: true }] })).toEqual([
        'alpha',
        'beta',
        'gamma',
        'delta',
      ]);

      const first = await tracking.loggedModels.search({ experimentIds: [exp], maxResults: 3 });
      const second = await tracking.loggedModels.search({
        experimentIds: [exp],
        maxResults: 3,
        pageToken: first.next_page_token,
      });
      expect([...first.items, ...second.items].map((m) => m.info.name)).toEqual([
        'delta',
        'gamma',
        'beta',
        'alpha',
      ]);
      expect(second.next_page_token).toBeUndefined();

      await expect(names({ filter: "datasets.name = 'x'" })).rejects.toMatchObject({
        code: 'INVALID_PARAMETER_VALUE',
      });
      await expect(names({ filter: 'metrics.auc > 0.5 or name = "x"' })).rejects.toThrow(/joined by AND/);
      await expect(names({ filter: "nope = 'x'" })).rejects.toThrow(/Invalid attribute key 'nope'/);
      await expect(names({ orderBy: [{ field_name: 'params.depth' }] })).rejects.toThrow(
        /Invalid order_by field_name 'params.depth'/,
      );
      await expect(names({ maxResults: 0 })).rejects.toThrow(/max_results/);
    });
  });
}
