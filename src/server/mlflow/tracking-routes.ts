/**
 * @module server/mlflow/tracking-routes
 * MLflow's tracking REST API (specs/COMPAT.md section 1), registered under `/api/2.0/mlflow` and
 * `/ajax-api/2.0/mlflow`. Handlers only translate: every rule lives in the Tracking facade.
 */
import type { FastifyInstance } from 'fastify';
import { KeelError } from '../../core/index.js';
import { DEFAULT_EXPERIMENT_ID, RUN_NAME_TAG, type Tracking } from '../../tracking/index.js';
import { mlflowErrorHandler } from '../errors.js';
import { listingJson, loggedModelJson, metricJson, runJson } from './json.js';
import { route } from './routes.js';
import { S } from './schemas.js';

export async function mlflowTrackingRoutes(
  app: FastifyInstance,
  opts: { tracking: Tracking },
): Promise<void> {
  const { experiments, runs, loggedModels } = opts.tracking;
  const tracking = opts.tracking;
  app.setErrorHandler(mlflowErrorHandler);

  route(app, 'POST', '/experiments/create', 'write', S.createExperiment, async (b) => ({
    experiment_id: await experiments.create(b.name, { artifactLocation: b.artifact_location, tags: b.tags }),
  }));
  route(app, 'GET', '/experiments/get', 'read', S.experimentId, async (q) => ({
    experiment: await experiments.get(q.experiment_id),
  }));
  route(app, 'GET', '/experiments/get-by-name', 'read', S.experimentName, async (q) => ({
    experiment: await experiments.getByName(q.experiment_name),
  }));
  route(app, ['GET', 'POST'], '/experiments/search', 'read', S.searchExperiments, async (b) => {
    const page = await experiments.search({
      filter: b.filter,
      maxResults: b.max_results,
      pageToken: b.page_token,
      orderBy: b.order_by,
      viewType: b.view_type,
    });
    return {
      experiments: page.items,
      ...(page.next_page_token ? { next_page_token: page.next_page_token } : {}),
    };
  });
  route(app, 'POST', '/experiments/delete', 'write', S.experimentId, (b) =>
    experiments.delete(b.experiment_id),
  );
  route(app, 'POST', '/experiments/restore', 'write', S.experimentId, (b) =>
    experiments.restore(b.experiment_id),
  );
  route(app, 'POST', '/experiments/update', 'write', S.updateExperiment, (b) =>
    experiments.rename(b.experiment_id, b.new_name),
  );
  route(app, 'POST', '/experiments/set-experiment-tag', 'write', S.setExperimentTag, (b) =>
    experiments.setTag(b.experiment_id, { key: b.key, value: b.value }),
  );
  route(app, 'POST', '/experiments/delete-experiment-tag', 'write', S.deleteExperimentTag, (b) =>
    experiments.deleteTag(b.experiment_id, b.key),
  );

  route(app, 'POST', '/runs/create', 'write', S.createRun, async (b) => ({
    run: runJson(
      await runs.create({
        experimentId: b.experiment_id ?? DEFAULT_EXPERIMENT_ID,
        runName: b.run_name,
        startTime: b.start_time,
        tags: b.tags,
        userId: b.user_id,
      }),
    ),
  }));
  route(app, 'POST', '/runs/update', 'write', S.updateRun, async (b) => ({
    run_info: await runs.update(b.run_id, { status: b.status, endTime: b.end_time, runName: b.run_name }),
  }));
  route(app, 'POST', '/runs/delete', 'write', S.runOnly, (b) => runs.setLifecycle(b.run_id, 'deleted'));
  route(app, 'POST', '/runs/restore', 'write', S.runOnly, (b) => runs.setLifecycle(b.run_id, 'active'));
  route(app, 'GET', '/runs/get', 'read', S.runOnly, async (q) => ({
    run: runJson(await runs.get(q.run_id)),
  }));
  route(app, 'POST', '/runs/log-metric', 'write', S.logMetric, ({ run_id, ...m }) =>
    runs.logBatch(run_id, { metrics: [{ ...m, step: m.step ?? 0 }] }),
  );
  route(app, 'POST', '/runs/log-parameter', 'write', S.logParam, (b) =>
    runs.logBatch(b.run_id, { params: [{ key: b.key, value: b.value }] }),
  );
  route(app, 'POST', '/runs/set-tag', 'write', S.setTag, (b) =>
    runs.logBatch(b.run_id, { tags: [{ key: b.key, value: b.value }] }),
  );
  route(app, 'POST', '/runs/delete-tag', 'write', S.deleteTag, (b) => runs.deleteTag(b.run_id, b.key));
  route(app, 'POST', '/runs/log-batch', 'write', S.logBatch, (b) =>
    runs.logBatch(b.run_id, {
      metrics: b.metrics?.map((m) => ({ ...m, step: m.step ?? 0 })),
      params: b.params,
      tags: b.tags,
    }),
  );
  route(app, 'POST', '/runs/log-inputs', 'write', S.logInputs, (b) =>
    runs.logInputs(
      b.run_id,
      (b.datasets ?? []).map((d) => ({ tags: d.tags ?? [], dataset: d.dataset })),
      b.models,
    ),
  );
  route(app, 'POST', '/runs/outputs', 'write', S.logOutputs, (b) =>
    runs.logOutputs(
      b.run_id,
      (b.models ?? []).map((m) => ({ model_id: m.model_id, step: m.step ?? 0 })),
    ),
  );
  route(app, 'POST', '/runs/log-model', 'write', S.logModel, async (b) => {
    let model: unknown;
    try {
      model = JSON.parse(b.model_json);
    } catch {
      throw new KeelError('INVALID_PARAMETER_VALUE', "'model_json' is not valid JSON");
    }
    await runs.recordLoggedModel(b.run_id, model);
  });
  route(app, ['POST', 'GET'], '/runs/search', 'read', S.searchRuns, async (b) => {
    const page = await runs.search({
      experimentIds: b.experiment_ids ?? [],
      filter: b.filter,
      viewType: b.run_view_type,
      maxResults: b.max_results,
      orderBy: b.order_by,
      pageToken: b.page_token,
    });
    return {
      runs: page.items.map(runJson),
      ...(page.next_page_token ? { next_page_token: page.next_page_token } : {}),
    };
  });
  route(app, 'GET', '/metrics/get-history', 'read', S.getHistory, async (q) => {
    const page = await runs.metricHistory(q.run_id, q.metric_key, {
      maxResults: q.max_results,
      pageToken: q.page_token,
    });
    return {
      metrics: page.items.map(metricJson),
      ...(page.next_page_token ? { next_page_token: page.next_page_token } : {}),
    };
  });
  route(app, 'GET', '/metrics/get-history-bulk-interval', 'read', S.getHistoryBulk, async (q) => ({
    metrics: (
      await runs.metricHistoryBulk(q.run_ids, q.metric_key, {
        startStep: q.start_step,
        endStep: q.end_step,
        maxResults: q.max_results,
      })
    ).map(metricJson),
  }));
  route(app, 'GET', '/artifacts/list', 'read', S.listArtifacts, async (q) =>
    listingJson(await tracking.listArtifacts(q.run_id, q.path ?? '')),
  );

  // MLflow 3's logged models (service.proto: CreateLoggedModel ... LogLoggedModelParamsRequest).
  route(app, 'POST', '/logged-models', 'write', S.createLoggedModel, async (b) => ({
    model: loggedModelJson(
      await loggedModels.create({
        experimentId: b.experiment_id,
        name: b.name,
        modelType: b.model_type,
        sourceRunId: b.source_run_id,
        params: b.params,
        tags: b.tags,
      }),
    ),
  }));
  route(app, 'POST', '/logged-models/search', 'read', S.searchLoggedModels, async (b) => {
    const page = await loggedModels.search({
      experimentIds: b.experiment_ids,
      filter: b.filter,
      datasets: b.datasets,
      maxResults: b.max_results,
      orderBy: b.order_by,
      pageToken: b.page_token,
    });
    return {
      models: page.items.map(loggedModelJson),
      ...(page.next_page_token ? { next_page_token: page.next_page_token } : {}),
    };
  });
  route(app, 'GET', '/logged-models/:model_id', 'read', S.modelId, async (q) => ({
    model: loggedModelJson(await loggedModels.get(q.model_id)),
  }));
  route(app, 'PATCH', '/logged-models/:model_id', 'write', S.finalizeLoggedModel, async (b) => ({
    model: loggedModelJson(await loggedModels.finalize(b.model_id, b.status)),
  }));
  route(app, 'DELETE', '/logged-models/:model_id', 'write', S.modelId, (b) =>
    loggedModels.delete(b.model_id),
  );
  route(app, 'PATCH', '/logged-models/:model_id/tags', 'write', S.setLoggedModelTags, (b) =>
    loggedModels.setTags(b.model_id, b.tags ?? []),
  );
  route(app, 'DELETE', '/logged-models/:model_id/tags/:tag_key', 'write', S.deleteLoggedModelTag, (b) =>
    loggedModels.deleteTag(b.model_id, b.tag_key),
  );
  route(app, 'POST', '/logged-models/:model_id/params', 'write', S.logLoggedModelParams, (b) =>
    loggedModels.logParams(b.model_id, b.params ?? []),
  );
  route(
    app,
    'GET',
    '/logged-models/:model_id/artifacts/directories',
    'read',
    S.listLoggedModelArtifacts,
    async (q) =>
      listingJson(await tracking.listLoggedModelArtifacts(q.model_id, q.artifact_directory_path ?? '')),
  );
}

export { RUN_NAME_TAG };
