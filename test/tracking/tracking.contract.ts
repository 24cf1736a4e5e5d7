/**
 * The tracking store contract, run against every metadata backend (SQLite always, PostgreSQL
 * whenever it answers and always under CI=true).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/index.js';
import type { Tracking } from '../../src/tracking/index.js';
import { type Backend, openTestTracking } from '../helpers/tracking.js';

export function describeTrackingContract(backend: Backend, postgresUrl?: string): void {
  describe(`tracking store on ${backend}`, () => {
    let tracking: Tracking;
    let cleanup: () => Promise<void>;
    const clock = new ManualClock(1_700_000_000_000);

    beforeEach(async () => {
      ({ tracking, cleanup } = await openTestTracking(backend, postgresUrl, clock));
    });
    afterEach(async () => cleanup());

    it('has the Default experiment with id 0', async () => {
      const exp = await tracking.experiments.get('0');
      expect(exp.name).toBe('Default');
      expect(exp.artifact_location).toBe('mlflow-artifacts:/0');
    });

    it('creates, finds, renames, tags, deletes and restores experiments', async () => {
      const id = await tracking.experiments.create('churn', { tags: [{ key: 'team', value: 'growth' }] });
      expect((await tracking.experiments.getByName('churn')).experiment_id).toBe(id);
      await expect(tracking.experiments.create('churn')).rejects.toMatchObject({
        code: 'RESOURCE_ALREADY_EXISTS',
      });
      await tracking.experiments.rename(id, 'churn-v2');
      await tracking.experiments.setTag(id, { key: 'owner', value: 'alice' });
      const exp = await tracking.experiments.get(id);
      expect(exp.name).toBe('churn-v2');
      expect(exp.tags).toEqual([
        { key: 'owner', value: 'alice' },
        { key: 'team', value: 'growth' },
      ]);
      await tracking.experiments.delete(id);
      expect((await tracking.experiments.search()).items.map((e) => e.name)).toEqual(['Default']);
      expect(
        (await tracking.experiments.search({ viewType: 'DELETED_ONLY' })).items.map((e) => e.name),
      ).toEqual(['churn-v2']);
      await tracking.experiments.restore(id);
      expect((await tracking.experiments.get(id)).lifecycle_stage).toBe('active');
      await expect(tracking.experiments.get('999')).rejects.toMatchObject({
        code: 'RESOURCE_DOES_NOT_EXIST',
      });
      await expect(tracking.experiments.get('abc')).rejects.toMatchObject({
        code: 'INVALID_PARAMETER_VALUE',
      });
    });

    it('searches experiments by name and tag, with pages', async () => {
      for (const name of ['a-1', 'a-2', 'b-1']) {
        clock.advance(1000);
        await tracking.experiments.create(name, { tags: [{ key: 'kind', value: name[0] }] });
      }
      const likeA = await tracking.experiments.search({ filter: "name LIKE 'a-%'" });
      expect(likeA.items.map((e) => e.name)).toEqual(['a-2', 'a-1']);
      const tagged = await tracking.experiments.search({ filter: "tags.kind = 'b'" });
      expect(tagged.items.map((e) => e.name)).toEqual(['b-1']);
      const first = await tracking.experiments.search({ maxResults: 2, orderBy: ['name ASC'] });
      expect(first.items.map((e) => e.name)).toEqual(['Default', 'a-1']);
      const second = await tracking.experiments.search({
        maxResults: 2,
        orderBy: ['name ASC'],
        pageToken: first.next_page_token,
      });
      expect(second.items.map((e) => e.name)).toEqual(['a-2', 'b-1']);
      expect(second.next_page_token).toBeUndefined();
    });

    it('creates runs, names them, updates status and end time', async () => {
      const run = await tracking.runs.create({
        experimentId: '0',
        runName: 'first',
        tags: [{ key: 'team', value: 'x' }],
      });
      expect(run.info.status).toBe('RUNNING');
      expect(run.info.run_name).toBe('first');
      expect(run.info.artifact_uri).toBe(`mlflow-artifacts:/0/${run.info.run_id}/artifacts`);
      expect(run.data.tags).toContainEqual({ key: 'mlflow.runName', value: 'first' });
      clock.advance(5000);
      const info = await tracking.runs.update(run.info.run_id, { status: 'FINISHED' });
      expect(info.status).toBe('FINISHED');
      expect(info.end_time).toBe(clock.now());
      await expect(tracking.runs.update(run.info.run_id, { status: 'DONE' as never })).rejects.toMatchObject({
        code: 'INVALID_PARAMETER_VALUE',
      });
      const unnamed = await tracking.runs.create({ experimentId: '0' });
      expect(unnamed.info.run_name).toMatch(/^[a-z]+-[a-z]+-\d+$/);
      await expect(tracking.runs.create({ experimentId: '42' })).rejects.toMatchObject({
        code: 'RESOURCE_DOES_NOT_EXIST',
      });
    });

    it('keeps params write-once: the same value again is fine, a different one is an error', async () => {
      const { info } = await tracking.runs.create({ experimentId: '0' });
      await tracking.runs.logBatch(info.run_id, { params: [{ key: 'lr', value: '0.1' }] });
      await tracking.runs.logBatch(info.run_id, { params: [{ key: 'lr', value: '0.1' }] });
      await expect(
        tracking.runs.logBatch(info.run_id, { params: [{ key: 'lr', value: '0.2' }] }),
      ).rejects.toThrow(/Changing param values is not allowed/);
      expect((await tracking.runs.get(info.run_id)).data.params).toEqual([{ key: 'lr', value: '0.1' }]);
    });

    it('appends metric history and shows the latest point per key', async () => {
      const { info } = await tracking.runs.create({ experimentId: '0' });
      const id = info.run_id;
      await tracking.runs.logBatch(id, {
        metrics: [
          { key: 'loss', value: 0.9, timestamp: 1000, step: 0 },
          { key: 'loss', value: 0.5, timestamp: 2000, step: 1 },
        ],
      });
      await tracking.runs.logBatch(id, {
        metrics: [
          { key: 'loss', value: 0.7, timestamp: 1500, step: 0 },
          { key: 'auc', value: 0.8, timestamp: 3000, step: 0 },
          { key: 'auc', value: 0.85, timestamp: 3000, step: 0 },
          { key: 'nanny', value: Number.NaN, timestamp: 3000, step: 0 },
        ],
      });
      const run = await tracking.runs.get(id);
      const byKey = Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value]));
      expect(byKey.loss).toBe(0.5);
      expect(byKey.auc).toBe(0.85);
      expect(byKey.nanny).toBeNaN();
      const history = await tracking.runs.metricHistory(id, 'loss');
      expect(history.items.map((m) => [m.step, m.value])).toEqual([
        [0, 0.9],
        [0, 0.7],
        [1, 0.5],
      ]);
      const paged = await tracking.runs.metricHistory(id, 'loss', { maxResults: 2 });
      expect(paged.items).toHaveLength(2);
      const rest = await tracking.runs.metricHistory(id, 'loss', {
        maxResults: 2,
        pageToken: paged.next_page_token,
      });
      expect(rest.items.map((m) => m.value)).toEqual([0.5]);
    });

    it('lets the last of repeated tags win and syncs mlflow.runName with the run name', async () => {
      const { info } = await tracking.runs.create({ experimentId: '0', runName: 'a' });
      await tracking.runs.logBatch(info.run_id, {
        tags: [
          { key: 't', value: '1' },
          { key: 't', value: '2' },
          { key: 'mlflow.runName', value: 'renamed' },
        ],
      });
      const run = await tracking.runs.get(info.run_id);
      expect(run.data.tags).toContainEqual({ key: 't', value: '2' });
      expect(run.info.run_name).toBe('renamed');
      await tracking.runs.deleteTag(info.run_id, 't');
      expect((await tracking.runs.get(info.run_id)).data.tags.find((t) => t.key === 't')).toBeUndefined();
      await expect(tracking.runs.deleteTag(info.run_id, 't')).rejects.toMatchObject({
        code: 'RESOURCE_DOES_NOT_EXIST',
      });
    });

    it('refuses batches over the limits and writes nothing of them', async () => {
      const { info } = await tracking.runs.create({ experimentId: '0' });
      const metrics = Array.from({ length: 1001 }, (_, i) => ({ key: 'm', value: i, timestamp: 1, step: i }));
      await expect(tracking.runs.logBatch(info.run_id, { metrics })).rejects.toThrow(/at most 1000 metrics/);
      const params = Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: 'v' }));
      await expect(tracking.runs.logBatch(info.run_id, { params })).rejects.toThrow(/at most 100 params/);
      await expect(
        tracking.runs.logBatch(info.run_id, { params: [{ key: '../etc', value: 'v' }] }),
      ).rejects.toMatchObject({ code: 'INVALID_PARAMETER_VALUE' });
      await expect(
        tracking.runs.logBatch(info.run_id, { params: [{ key: 'k', value: 'x'.repeat(6001) }] }),
      ).rejects.toThrow(/limit is 6000/);
      const run = await tracking.runs.get(info.run_id);
      expect(run.data.metrics).toEqual([]);
      expect(run.data.params).toEqual([]);
    });

    it('refuses logging to a deleted run and restores it', async () => {
      const { info } = await tracking.runs.create({ experimentId: '0' });
      await tracking.runs.setLifecycle(info.run_id, 'deleted');
      await expect(
        tracking.runs.logBatch(info.run_id, { metrics: [{ key: 'm', value: 1, timestamp: 1, step: 0 }] }),
      ).rejects.toThrow(/must be in the 'active' state/);
      await tracking.runs.setLifecycle(info.run_id, 'active');
      await tracking.runs.logBatch(info.run_id, { metrics: [{ key: 'm', value: 1, timestamp: 1, step: 0 }] });
      await expect(tracking.runs.get('nope')).rejects.toMatchObject({ code: 'RESOURCE_DOES_NOT_EXIST' });
    });

    it('records dataset inputs once per experiment and digest', async () => {
      const { info } = await tracking.runs.create({ experimentId: '0' });
      const input = {
        tags: [{ key: 'mlflow.data.context', value: 'training' }],
        dataset: {
          name: 'retail',
          digest: 'abc123',
          source_type: 'local',
          source: '/data/retail.parquet',
          schema: '{"x":1}',
        },
      };
      await tracking.runs.logInputs(info.run_id, [input]);
      await tracking.runs.logInputs(info.run_id, [input]);
      const run = await tracking.runs.get(info.run_id);
      expect(run.inputs.dataset_inputs).toEqual([input]);
      const found = await tracking.runs.search({
        experimentIds: ['0'],
        filter: "datasets.digest = 'abc123'",
      });
      expect(found.items.map((r) => r.info.run_id)).toEqual([info.run_id]);
    });

    it('searches runs with MLflow filters, order_by and pages', async () => {
      const exp = await tracking.experiments.create('search');
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        clock.advance(1000);
        const { info } = await tracking.runs.create({ experimentId: exp, runName: `run-${i}` });
        ids.push(info.run_id);
        await tracking.runs.logBatch(info.run_id, {
          metrics: [{ key: 'auc', value: 0.7 + i * 0.04, timestamp: 1, step: 0 }],
          params: [{ key: 'model', value: i % 2 ? 'gbdt' : 'logreg' }],
          tags: [{ key: 'team', value: i < 3 ? 'Growth' : 'risk' }],
        });
        if (i === 5) await tracking.runs.update(info.run_id, { status: 'FINISHED' });
      }
      const search = async (filter: string, orderBy?: string[]) =>
        (await tracking.runs.search({ experimentIds: [exp], filter, orderBy })).items.map(
          (r) => r.info.run_name,
        );
      expect(await search("metrics.auc > 0.8 and params.model = 'gbdt'")).toEqual(['run-5', 'run-3']);
      expect(await search("tags.team = 'risk'", ['metrics.auc ASC'])).toEqual(['run-3', 'run-4', 'run-5']);
      expect(await search("tags.team LIKE 'g%'")).toEqual([]);
      expect(await search("tags.team ILIKE 'g%'")).toEqual(['run-2', 'run-1', 'run-0']);
      expect(await search("params.model IN ('logreg') and metrics.auc >= 0.77")).toEqual(['run-4', 'run-2']);
      expect(await search("attributes.status = 'FINISHED'")).toEqual(['run-5']);
      expect(await search("attributes.run_name != 'run-0' and params.model NOT IN ('gbdt')")).toEqual([
        'run-4',
        'run-2',
      ]);
      expect(await search('metrics.missing IS NULL and metrics.auc < 0.75')).toEqual(['run-1', 'run-0']);
      expect(await search('', ['params.model DESC', 'metrics.auc DESC'])).toEqual([
        'run-4',
        'run-2',
        'run-0',
        'run-5',
        'run-3',
        'run-1',
      ]);
      const page1 = await tracking.runs.search({ experimentIds: [exp], maxResults: 4 });
      const page2 = await tracking.runs.search({
        experimentIds: [exp],
        maxResults: 4,
        pageToken: page1.next_page_token,
      });
      expect([...page1.items, ...page2.items].map((r) => r.info.run_id).sort()).toEqual([...ids].sort());
      expect(page2.next_page_token).toBeUndefined();
      await expect(
        tracking.runs.search({ experimentIds: [exp], filter: "params.model = 'a' or params.x = 'b'" }),
      ).rejects.toThrow(/joined by AND/);
      await expect(
        tracking.runs.search({ experimentIds: [exp], filter: 'params.model = 3' }),
      ).rejects.toThrow(/quote it/);
      await expect(tracking.runs.search({ experimentIds: [exp], maxResults: 50_001 })).rejects.toThrow(
        /from 1 to 50000/,
      );
    });

    it('orders runs by a metric as MLflow does: numbers, then NaN, then missing, ties newest first', async () => {
      const exp = await tracking.experiments.create('metric-order');
      const values: Array<number | undefined> = [0.5, Number.NaN, undefined, -1, 0.5, Number.NaN, 2];
      for (const [i, value] of values.entries()) {
        clock.advance(1000);
        const { info } = await tracking.runs.create({ experimentId: exp, runName: `run-${i}` });
        await tracking.runs.logBatch(info.run_id, {
          metrics: [
            { key: 'other', value: i, timestamp: 1, step: 0 },
            ...(value === undefined ? [] : [{ key: 'auc', value, timestamp: 1, step: 0 }]),
          ],
        });
      }
      const order = async (orderBy: string[], maxResults = 100) => {
        const names: string[] = [];
        let pageToken: string | undefined;
        do {
          const page = await tracking.runs.search({ experimentIds: [exp], orderBy, maxResults, pageToken });
          names.push(...page.items.map((r) => r.info.run_name));
          pageToken = page.next_page_token;
        } while (pageToken);
        return names;
      };
      const asc = ['run-3', 'run-4', 'run-0', 'run-6', 'run-5', 'run-1', 'run-2'];
      const desc = ['run-6', 'run-4', 'run-0', 'run-3', 'run-5', 'run-1', 'run-2'];
      expect(await order(['metrics.auc ASC'])).toEqual(asc);
      expect(await order(['metrics.auc DESC'])).toEqual(desc);
      // Paging walks the same order, two runs at a time.
      expect(await order(['metrics.auc DESC'], 2)).toEqual(desc);
      // A second key breaks the first one's ties before start_time does.
      expect(await order(['metrics.auc DESC', 'metrics.other ASC'])).toEqual([
        'run-6',
        'run-0',
        'run-4',
        'run-3',
        'run-1',
        'run-5',
        'run-2',
      ]);
    });

    it('stores, lists and confines artifacts', async () => {
      const { info } = await tracking.runs.create({ experimentId: '0' });
      const root = await tracking.runArtifactRoot(info.run_id);
      await tracking.artifacts.put(`${root}/model/model.onnx`, 'bytes');
      await tracking.artifacts.put(`${root}/notes.txt`, 'hello');
      const listed = await tracking.listArtifacts(info.run_id);
      expect(listed.files).toEqual([
        { path: 'model', isDir: true },
        { path: 'notes.txt', isDir: false, fileSize: 5 },
      ]);
      expect((await tracking.listArtifacts(info.run_id, 'model')).files).toEqual([
        { path: 'model/model.onnx', isDir: false, fileSize: 5 },
      ]);
      await expect(tracking.listArtifacts(info.run_id, '../../etc')).rejects.toMatchObject({
        code: 'INVALID_PARAMETER_VALUE',
      });
    });
  });
}
