/**
 * Missing tags, params and metrics in every search, as MLflow's SQL store treats them (an inner
 * join: a clause matches only rows that have the key, so `!=` skips rows without it), and MLflow's
 * prompt rule in the registry: the MLflow 3 client adds `` tag.`mlflow.prompt.is_prompt` != 'true' ``
 * to every registered-model and version search, which must return the ordinary models. Driven over
 * REST as the client sends it, on SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { serviceUrl } from '../helpers/services.js';
import type { Backend } from '../helpers/tracking.js';
import { trainedRun } from '../registry/fixtures.js';

const pgUrl = await serviceUrl('postgres');
const backends: Array<[Backend, string | undefined]> = [['sqlite', undefined]];
if (pgUrl) backends.push(['postgres', pgUrl]);

const api = (path: string) => `/api/2.0/mlflow/${path}`;
const PROMPT = "tag.`mlflow.prompt.is_prompt` != 'true'";

describe.each(backends)('search semantics on %s', (backend, url) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(backend, url);
    const runId = await trainedRun(s.tracking);
    const model = (name: string, tags: Record<string, string>) =>
      s.call('POST', api('registered-models/create'), {
        name,
        tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      });
    await model('churn', { team: 'growth' });
    await model('fraud', {});
    await model('greeting', { 'mlflow.prompt.is_prompt': 'true' });
    await model('plain', { 'mlflow.prompt.is_prompt': 'false', team: 'risk' });
    for (const name of ['churn', 'greeting']) {
      const mv = await s.call('POST', api('model-versions/create'), {
        name,
        source: `runs:/${runId}/model`,
        run_id: runId,
        tags: name === 'greeting' ? [{ key: 'mlflow.prompt.is_prompt', value: 'true' }] : [],
      });
      expect(mv.status).toBe(200);
    }
  });
  afterAll(async () => s.close());

  const models = async (filter?: string) => {
    const res = await s.call(
      'GET',
      `${api('registered-models/search')}?${new URLSearchParams(filter ? { filter } : {})}`,
    );
    expect(res.status).toBe(200);
    return ((res.body.registered_models ?? []) as Array<{ name: string }>).map((m) => m.name);
  };
  const versions = async (filter: string) => {
    const res = await s.call('GET', `${api('model-versions/search')}?${new URLSearchParams({ filter })}`);
    expect(res.status).toBe(200);
    return ((res.body.model_versions ?? []) as Array<{ name: string }>).map((m) => m.name);
  };

  it("returns ordinary models for the 3.9 client's prompt filter, alone or with others", async () => {
    expect(await models(PROMPT)).toEqual(['churn', 'fraud', 'plain']);
    expect(await models(`name LIKE '%r%' AND ${PROMPT}`)).toEqual(['churn', 'fraud']);
    expect(await versions(`name = 'churn' AND ${PROMPT}`)).toEqual(['churn']);
    expect(await versions(PROMPT)).toEqual(['churn']);
  });

  it('leaves prompts out unless the filter asks for them, as MLflow does', async () => {
    expect(await models()).toEqual(['churn', 'fraud', 'plain']);
    expect(await models("tags.`mlflow.prompt.is_prompt` = 'false'")).toEqual(['churn', 'fraud', 'plain']);
    expect(await models("tags.`mlflow.prompt.is_prompt` = 'true'")).toEqual(['greeting']);
    expect(await models("tags.`mlflow.prompt.is_prompt` != 'false'")).toEqual(['greeting']);
    expect(await versions("tags.`mlflow.prompt.is_prompt` = 'true'")).toEqual(['greeting']);
  });

  it('matches a tag clause only on models and versions that have the tag', async () => {
    expect(await models(`tags.team != 'growth' AND ${PROMPT}`)).toEqual(['plain']);
    expect(await models("tags.team LIKE '%'")).toEqual(['churn', 'plain']);
  });

  it('matches tag, param and metric clauses only on runs that have the key', async () => {
    const run = async (
      tags: Record<string, string>,
      params: Record<string, string>,
      metrics: Record<string, number>,
    ) => {
      const { body } = await s.call('POST', api('runs/create'), { experiment_id: '0', run_name: 'r' });
      const runId = (body.run as { info: { run_id: string } }).info.run_id;
      await s.call('POST', api('runs/log-batch'), {
        run_id: runId,
        tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
        params: Object.entries(params).map(([key, value]) => ({ key, value })),
        metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, timestamp: 1, step: 0 })),
      });
      return runId;
    };
    const a = await run({ x: 'a' }, { p: '1' }, { m: 1 });
    const b = await run({ x: 'b' }, { p: '2' }, { m: 2 });
    await run({}, {}, {});
    const search = async (filter: string) => {
      const res = await s.call('POST', api('runs/search'), { experiment_ids: ['0'], filter });
      expect(res.status).toBe(200);
      return ((res.body.runs ?? []) as Array<{ info: { run_id: string } }>).map((r) => r.info.run_id).sort();
    };
    expect(await search("tags.x != 'a'")).toEqual([b]);
    expect(await search("params.p != '1'")).toEqual([b]);
    expect(await search('metrics.m != 1')).toEqual([b]);
    expect(await search("tags.x LIKE '%'")).toEqual([a, b].sort());
  });

  it('matches tag and param clauses only on logged models that have the key', async () => {
    const create = async (tags: Record<string, string>) => {
      const res = await s.call('POST', api('logged-models'), {
        experiment_id: '0',
        tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      });
      return (res.body.model as { info: { model_id: string } }).info.model_id;
    };
    await create({ stage: 'a' });
    const b = await create({ stage: 'b' });
    await create({});
    const res = await s.call('POST', api('logged-models/search'), {
      experiment_ids: ['0'],
      filter: "tags.stage != 'a'",
    });
    expect((res.body.models as Array<{ info: { model_id: string } }>).map((m) => m.info.model_id)).toEqual([
      b,
    ]);
  });
});
