/**
 * @module server/mlflow/registry-routes
 * MLflow's model registry REST API (specs/COMPAT.md section 2) under `/api/2.0/mlflow` and
 * `/ajax-api/2.0/mlflow`. Each request acts as its caller (the token's user under `--auth`);
 * stage transitions go through Keel's gates and approvals like any promotion.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { pendingAsError, type Registry } from '../../registry/index.js';
import { mlflowErrorHandler } from '../errors.js';
import { R } from './registry-schemas.js';
import { route } from './routes.js';

/** The registry acting as the request's caller, with sources confined to the artifact store. */
export const registryFor = (registry: Registry, request: FastifyRequest): Registry =>
  registry.forRequest(request.actor);

const page = <T>(key: string, p: { items: T[]; next_page_token?: string }) => ({
  [key]: p.items,
  ...(p.next_page_token ? { next_page_token: p.next_page_token } : {}),
});

export async function mlflowRegistryRoutes(
  app: FastifyInstance,
  opts: { registry: Registry },
): Promise<void> {
  const as = (request: FastifyRequest) => registryFor(opts.registry, request);
  app.setErrorHandler(mlflowErrorHandler);

  route(app, 'POST', '/registered-models/create', 'write', R.createModel, async (b, req) => ({
    registered_model: await as(req).models.create(b.name, { tags: b.tags, description: b.description }),
  }));
  route(app, 'POST', '/registered-models/rename', 'write', R.renameModel, async (b, req) => ({
    registered_model: await as(req).models.rename(b.name, b.new_name),
  }));
  route(app, 'PATCH', '/registered-models/update', 'write', R.updateModel, async (b, req) => ({
    registered_model: await as(req).models.updateDescription(b.name, b.description ?? ''),
  }));
  route(app, 'DELETE', '/registered-models/delete', 'write', R.modelName, (b, req) =>
    as(req).models.delete(b.name),
  );
  route(app, 'GET', '/registered-models/get', 'read', R.modelName, async (q, req) => ({
    registered_model: await as(req).models.get(q.name),
  }));
  route(app, 'GET', '/registered-models/search', 'read', R.searchModels, async (q, req) =>
    page(
      'registered_models',
      await as(req).models.search({
        filter: q.filter,
        maxResults: q.max_results,
        orderBy: q.order_by,
        pageToken: q.page_token,
      }),
    ),
  );
  route(
    app,
    ['POST', 'GET'],
    '/registered-models/get-latest-versions',
    'read',
    R.latestVersions,
    async (b, req) => ({
      model_versions: await as(req).latestVersions(b.name, b.stages ?? []),
    }),
  );
  route(app, 'POST', '/registered-models/set-tag', 'write', R.modelTag, (b, req) =>
    as(req).models.setTag(b.name, b.key, b.value),
  );
  route(app, 'DELETE', '/registered-models/delete-tag', 'write', R.modelTagKey, (b, req) =>
    as(req).models.deleteTag(b.name, b.key),
  );
  // A governed alias: failed gates or a pending approval answer INVALID_STATE with the gate report.
  route(app, 'POST', '/registered-models/alias', 'write', R.setAlias, async (b, req) => {
    pendingAsError(await as(req).setAlias(b.name, b.alias, b.version));
  });
  route(app, 'DELETE', '/registered-models/alias', 'write', R.alias, (b, req) =>
    as(req).deleteAlias(b.name, b.alias),
  );
  route(app, 'GET', '/registered-models/alias', 'read', R.alias, async (q, req) => ({
    model_version: await as(req).getByAlias(q.name, q.alias),
  }));

  route(app, 'POST', '/model-versions/create', 'write', R.createVersion, async (b, req) => ({
    model_version: await as(req).versions.create({
      name: b.name,
      source: b.source,
      runId: b.run_id,
      modelId: b.model_id,
      runLink: b.run_link,
      tags: b.tags,
      description: b.description,
    }),
  }));
  route(app, 'PATCH', '/model-versions/update', 'write', R.updateVersion, async (b, req) => ({
    model_version: await as(req).versions.updateDescription(b.name, b.version, b.description ?? ''),
  }));
  route(app, 'POST', '/model-versions/transition-stage', 'write', R.transition, async (b, req) => {
    const r = as(req);
    await r.promotions.transition(b.name, b.version, b.stage, b.archive_existing_versions ?? false);
    return { model_version: await r.versions.get(b.name, b.version) };
  });
  route(app, 'DELETE', '/model-versions/delete', 'write', R.version, (b, req) =>
    as(req).versions.delete(b.name, b.version),
  );
  route(app, 'GET', '/model-versions/get', 'read', R.version, async (q, req) => ({
    model_version: await as(req).versions.get(q.name, q.version),
  }));
  route(app, 'GET', '/model-versions/search', 'read', R.searchVersions, async (q, req) =>
    page(
      'model_versions',
      await as(req).versions.search({
        filter: q.filter,
        maxResults: q.max_results,
        orderBy: q.order_by,
        pageToken: q.page_token,
      }),
    ),
  );
  route(app, 'GET', '/model-versions/get-download-uri', 'read', R.version, async (q, req) => ({
    artifact_uri: await as(req).versions.downloadUri(q.name, q.version),
  }));
  route(app, 'POST', '/model-versions/set-tag', 'write', R.versionTag, (b, req) =>
    as(req).versions.setTag(b.name, b.version, b.key, b.value),
  );
  route(app, 'DELETE', '/model-versions/delete-tag', 'write', R.versionTagKey, (b, req) =>
    as(req).versions.deleteTag(b.name, b.version, b.key),
  );
}
