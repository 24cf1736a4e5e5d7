/**
 * @module server/keel/features-routes
 * `GET /api/2.0/keel/features`: the feature registry as last applied (entities, feature views with
 * their schemas, TTLs, owners and sources, on-demand views, services) and each view's freshness:
 * how far materialization has reached, any unfinished run, and how old the online rows are as of
 * the store's clock. Reads only; `keel features apply` and `/materialize` change them.
 */
import type { FastifyInstance } from 'fastify';
import type { FeatureStore } from '../../features/index.js';
import { mlflowErrorHandler } from '../errors.js';

export async function featuresRoutes(app: FastifyInstance, opts: { store: FeatureStore }): Promise<void> {
  app.setErrorHandler(mlflowErrorHandler);
  app.get('/features', { config: { permission: 'read' } }, async () => {
    const registry = opts.store.registry();
    const state = await opts.store.materializationState();
    const at = Date.now();
    return {
      entities: Object.values(registry.entities).map((e) => ({
        ...e.spec,
        version: e.version,
        updated_at: e.updatedAt,
      })),
      feature_views: Object.values(registry.featureViews).map(({ spec, version, updatedAt }) => {
        const until = state[spec.name]?.materializedUntil;
        return {
          name: spec.name,
          version,
          updated_at: updatedAt,
          entities: spec.entities.map((e) => e.name),
          schema: spec.schema,
          source: spec.source,
          push_source: spec.pushSource,
          ttl_seconds: spec.ttl,
          online_max_age_seconds: spec.onlineMaxAge,
          online: spec.online,
          offline: spec.offline,
          owner: spec.owner,
          description: spec.description,
          tags: spec.tags,
          materialized_until: until ?? null,
          // How far the online rows lag now: what a request would see as their age at best.
          staleness_seconds: until === undefined ? null : Math.max(0, (at - until) / 1000),
          pending: state[spec.name]?.pending ?? null,
        };
      }),
      // The transform's source stays out: the repo holds it, and a listing needs only its hash.
      on_demand_feature_views: Object.values(registry.onDemandFeatureViews).map(
        ({ spec: { transformSource: _source, ...spec }, version, updatedAt }) => ({
          ...spec,
          version,
          updated_at: updatedAt,
        }),
      ),
      feature_services: Object.values(registry.featureServices).map((v) => ({
        ...v.spec,
        version: v.version,
        updated_at: v.updatedAt,
      })),
    };
  });
}
