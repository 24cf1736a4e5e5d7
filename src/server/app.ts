/**
 * @module server/app
 * The Fastify application. `buildApp` registers every API family by an explicit list and never
 * listens; `keel serve` and the tests do that. Each family is a prefixed plugin with the error
 * shape its protocol asks for.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { KeelError, type Logger } from '../core/index.js';
import type { FeatureStore } from '../features/index.js';
import type { Monitoring, PredictionLog, RequestFigures } from '../monitoring/index.js';
import type { Registry } from '../registry/index.js';
import type { SchedulerStatus } from '../scheduler/index.js';
import { type BatchingOptions, DEFAULT_BATCHING, type ModelServer } from '../serving/index.js';
import type { Tracking } from '../tracking/index.js';
import { enableAuth } from './auth.js';
import { rootErrorHandler } from './errors.js';
import { datasetsRoutes } from './keel/datasets-routes.js';
import { deploymentRoutes } from './keel/deployment-routes.js';
import { featuresRoutes } from './keel/features-routes.js';
import { governanceRoutes } from './keel/governance-routes.js';
import { identityRoutes } from './keel/identity-routes.js';
import { monitoringRoutes } from './keel/monitoring-routes.js';
import { pipelineRoutes } from './keel/pipeline-routes.js';
import { retrainRoutes } from './keel/retrain-routes.js';
import { enableMetrics, onlineCacheGauges, ServerMetrics } from './metrics.js';
import { mlflowArtifactRoutes } from './mlflow/artifact-routes.js';
import { mlflowRegistryRoutes } from './mlflow/registry-routes.js';
import { mlflowTrackingRoutes } from './mlflow/tracking-routes.js';
import { mlflowWebhookRoutes } from './mlflow/webhook-routes.js';
import { monitoringGauges } from './monitoring-metrics.js';
import { Readiness } from './readiness.js';
import { enableRequestIds, requestId } from './request-id.js';
import { lazyChildLogger, RequestLogController } from './request-log.js';
import { enableRouteTable } from './route-table.js';
import { feastRoutes } from './routes/feast.js';
import { servingRoutes } from './routes/serving.js';
import { servingGauges } from './serving-metrics.js';
import { uiRoutes } from './ui.js';

export interface KeelServices {
  tracking: Tracking;
  /** The model registry; it shares tracking's database and artifact store. */
  registry: Registry;
  /** The feature store behind the Feast-compatible routes; without it they are not served. */
  features?: FeatureStore;
  /** The models `keel serve --model` serves; without it the scoring routes are not served. */
  serving?: ModelServer;
  /** Where every answered scoring request's rows are recorded; with it, `POST /feedback` is served. */
  predictionLog?: PredictionLog;
  /** Monitor runs, profiles and alerts; with it, `/api/2.0/keel/monitoring` is served. */
  monitoring?: Monitoring;
  /** Where scoring requests are counted per minute for the monitors (needs metrics on). */
  requestFigures?: RequestFigures;
  /** The scheduler of this server, whose state `/api/2.0/keel/monitoring/scheduler` shows. */
  scheduler?: { status(): Promise<SchedulerStatus> };
  /** The project root whose `dvc.yaml` `/api/2.0/keel/pipeline` shows; without it the route is not served. */
  projectRoot?: string;
  /** Keel's home folder: its offline store's datasets are read at `/api/2.0/keel/datasets`. */
  home?: string;
}

export interface BuildAppOptions {
  services: KeelServices;
  logger?: Logger | false;
  /** Require a bearer token on every route but the health checks, and check its role on writes. */
  auth?: boolean;
  /** Micro-batching of the scoring routes (default `DEFAULT_BATCHING`). */
  batching?: Partial<BatchingOptions>;
  /** Serve Prometheus metrics on `GET /metrics` and count every request (default true). */
  metrics?: boolean;
  /** Where the built web UI is (default: `dist/ui`, see server/ui). */
  uiFolder?: string;
  /**
   * `GET /metrics` answers the figures of every process of a `keel serve --workers` cluster
   * (asked of its primary), not only this one's.
   */
  clusterMetrics?: boolean;
}

/** What `buildApp` hands back besides the app: the switch `keel serve` drains it with on shutdown. */
export interface AppControl {
  /**
   * Readiness turns false and every answer from now on closes its connection, so callers move
   * to another server while the requests this one holds finish.
   */
  drain(): void;
}

const appControls = new WeakMap<FastifyInstance, AppControl>();

/** The drain switch of an app `buildApp` made. */
export const appControl = (app: FastifyInstance): AppControl => appControls.get(app) as AppControl;

/** MLflow's limit on a request body (artifact uploads stream and are not limited). */
const BODY_LIMIT = 1024 * 1024;

/**
 * Keel's routes validate their input with zod (`core/validate`) and answer through
 * `JSON.stringify`, so none declares a Fastify JSON schema. Given these as compilers, Fastify
 * never loads its own (ajv and fast-json-stringify: 80-100 ms of `keel serve`'s cold start
 * here); a route that declared a schema would make the app fail to start, naming the route.
 */
const noJsonSchemas =
  (kind: string) =>
  () =>
  ({ method, url }: { method?: string; url?: string }): never => {
    throw new KeelError(
      'INTERNAL_ERROR',
      `${method} ${url} declares a JSON schema for its ${kind}: Keel's routes validate with zod instead`,
    );
  };

export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger || undefined,
    // Per-request lines at debug: at the default level the request path writes no log line.
    logController: options.logger ? new RequestLogController() : undefined,
    childLoggerFactory: options.logger ? lazyChildLogger : undefined,
    bodyLimit: BODY_LIMIT,
    schemaController: {
      compilersFactory: {
        buildValidator: noJsonSchemas('input'),
        buildSerializer: noJsonSchemas('response'),
      },
    },
    // MLflow's clients send `order_by` etc. as repeated query keys; default parsing keeps arrays.
    routerOptions: { ignoreTrailingSlash: true },
    genReqId: requestId,
    // A request on a connection already open is answered while the server closes: shutting
    // down fails no request (new connections are refused, and draining closes the open ones).
    return503OnClosing: false,
    // A URL the router cannot decode (`%zz`) is answered before any route, in Keel's error shape.
    frameworkErrors: (error, _request, reply: FastifyReply) =>
      reply.status(400).send({ error_code: 'BAD_REQUEST', message: error.message }),
  }) as unknown as FastifyInstance;
  const { tracking, registry, predictionLog } = options.services;

  app.setErrorHandler(rootErrorHandler);
  // First: every route registered from here on must declare its permission.
  enableRouteTable(app);
  // The onRequest hooks in this order: every request is counted in flight before another hook
  // can refuse it (its response is counted out), and a refused request still answers its id.
  const metrics =
    options.metrics === false
      ? undefined
      : new ServerMetrics(predictionLog, options.services.requestFigures, options.clusterMetrics);
  if (metrics) enableMetrics(app, metrics);
  if (metrics && options.services.monitoring) monitoringGauges(metrics.registry, options.services.monitoring);
  if (metrics && options.services.serving) servingGauges(metrics.registry, options.services.serving);
  if (metrics && options.services.features?.cachesOnline)
    onlineCacheGauges(metrics.registry, options.services.features);
  enableRequestIds(app);
  if (options.auth) enableAuth(app, registry);
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      error_code: 'RESOURCE_DOES_NOT_EXIST',
      message: `No route ${request.method} ${request.url.split('?')[0]}`,
    }),
  );

  // Liveness: the process answers. Readiness: the parts it needs answer too.
  app.get('/health', { config: { permission: 'public' } }, async (_request, reply) =>
    reply.type('text/plain').send('OK'),
  );
  const readiness = new Readiness({
    db: tracking.db,
    features: options.services.features,
    serving: options.services.serving,
    logger: app.log,
  });
  appControls.set(app, { drain: () => readiness.drain() });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (readiness.draining) reply.header('connection', 'close');
    done(null, payload);
  });
  app.get('/ready', { config: { permission: 'public' } }, async (_request, reply) => {
    const report = await readiness.check();
    return reply.status(report.status === 'ready' ? 200 : 503).send(report);
  });
  for (const prefix of ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow']) {
    await app.register(mlflowTrackingRoutes, { prefix, tracking });
    await app.register(mlflowRegistryRoutes, { prefix, registry });
  }
  await app.register(mlflowWebhookRoutes, { prefix: '/api/2.0/mlflow', registry });
  await app.register(governanceRoutes, { prefix: '/api/2.0/keel/registry', registry });
  if (options.services.projectRoot)
    await app.register(pipelineRoutes, { prefix: '/api/2.0/keel', root: options.services.projectRoot });
  if (options.services.home)
    await app.register(datasetsRoutes, { prefix: '/api/2.0/keel', home: options.services.home });
  await app.register(deploymentRoutes, {
    prefix: '/api/2.0/keel',
    registry,
    serving: options.services.serving,
    figures: options.services.requestFigures,
  });
  await app.register(identityRoutes, { prefix: '/api/2.0/keel', registry, auth: options.auth === true });
  if (options.services.monitoring) {
    await app.register(monitoringRoutes, {
      prefix: '/api/2.0/keel/monitoring',
      monitoring: options.services.monitoring,
      scheduler: options.services.scheduler,
    });
    await app.register(retrainRoutes, { prefix: '/api/2.0/keel', monitoring: options.services.monitoring });
  }
  await app.register(mlflowArtifactRoutes, {
    prefix: '/api/2.0/mlflow-artifacts',
    artifacts: tracking.artifacts,
    registry,
  });
  // Feast clients post to `<url>/get-online-features`, so the feature server sits at the root.
  if (options.services.features) {
    await app.register(feastRoutes, { store: options.services.features });
    await app.register(featuresRoutes, { prefix: '/api/2.0/keel', store: options.services.features });
  }
  // MLflow's scoring clients post to `<url>/invocations`, so the scoring routes sit at the root too.
  if (options.services.serving)
    await app.register(servingRoutes, {
      server: options.services.serving,
      readiness,
      batching: {
        maxBatchSize: options.batching?.maxBatchSize ?? DEFAULT_BATCHING.maxBatchSize,
        maxLatencyMs: options.batching?.maxLatencyMs ?? DEFAULT_BATCHING.maxLatencyMs,
      },
      log: predictionLog,
      onBatch: metrics?.onBatch,
      onInputIssues: metrics?.onInputIssues,
    });
  await app.register(uiRoutes, { folder: options.uiFolder });
  return app;
}
