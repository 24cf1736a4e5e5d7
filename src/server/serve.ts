/**
 * @module server/serve
 * `keel serve`: opens the configured stores, loads the models to serve, builds the app and listens
 * until SIGINT/SIGTERM, then drains in-flight requests, writes the prediction log's last rows and
 * closes the models and stores. It runs keel.yaml's monitors and schedules whenever it holds the
 * scheduler's lease (one server of several on one database).
 */
import type { FastifyInstance } from 'fastify';
import { createLogger, type KeelConfig, parseInput } from '../core/index.js';
import { FeatureStore } from '../features/index.js';
import { Monitoring, PredictionLog, predictionLogConfig, RequestFigures } from '../monitoring/index.js';
import { Registry } from '../registry/index.js';
import { Scheduler, schedulerSettings } from '../scheduler/index.js';
import { type ModelEntry, ModelServer, type ServedModelInfo, sessionOptionsFrom } from '../serving/index.js';
import { appControl, buildApp } from './app.js';

export interface ServeOptions {
  host?: string;
  port?: number;
  /** Require API tokens (`keel tokens create`) on every route but the health checks. */
  auth?: boolean;
  /** Models to serve online (`models:/churn@champion`, optionally with a canary); none serves no scoring routes. */
  models?: readonly ModelEntry[];
  /** How often alias and stage URIs are re-resolved to pick up promotions (ms; 0: never). */
  refreshIntervalMs?: number;
  /** Judge online features' max age as of this time (ms) instead of now: replays and demos. */
  featuresAt?: number;
  /** Run the monitors and schedules of keel.yaml when this server holds the lease (default true). */
  scheduler?: boolean;
  /** Seeds the canary split's draw, so a replay splits its traffic the same way every time. */
  canarySeed?: number;
  /** This process is one worker of `keel serve --workers`: `/metrics` answers for the cluster. */
  clusterWorker?: boolean;
}

export async function startServer(
  config: KeelConfig,
  options: ServeOptions = {},
): Promise<{
  app: FastifyInstance;
  url: string;
  /** What is served now: each model's version, and whether its canary takes traffic. */
  served: () => ServedModelInfo[];
  close: () => Promise<void>;
  /**
   * Graceful shutdown's first step: readiness turns false and every answer closes its
   * connection, for `ms` ms, so load balancers and keep-alive callers move to another server
   * while this one still answers; `close` then finishes the requests in flight and writes the logs.
   */
  drain: (ms: number) => Promise<void>;
  /** Writes what the prediction log and the request figures hold now (a replay judges windows at once). */
  flush: () => Promise<void>;
}> {
  const registry = await Registry.open(config);
  const tracking = registry.tracking;
  const { featuresAt } = options;
  const features = new FeatureStore({
    config,
    clock: featuresAt === undefined ? undefined : { now: () => featuresAt },
  });
  let serving: ModelServer | undefined;
  let predictionLog: PredictionLog | undefined;
  let requestFigures: RequestFigures | undefined;
  let monitoring: Monitoring | undefined;
  let scheduler: Scheduler | undefined;
  let app: FastifyInstance | undefined;
  // The configured level holds (default warn); Fastify's per-request lines appear at debug.
  // Asynchronous: a request never waits for stderr; close writes what is left.
  const logger = createLogger(config.logLevel, { sync: false });
  const close = async () => {
    // The scheduler first (its lease goes to another server at once); then answered requests
    // append their rows, and the log writes them.
    await scheduler?.stop();
    await app?.close();
    await predictionLog?.close();
    await requestFigures?.close();
    await serving?.close();
    await monitoring?.close();
    await features.close();
    await registry.close();
    logger.flush();
  };
  try {
    // Monitoring's settings are checked before anything loads: a bad threshold stops the start.
    monitoring = await Monitoring.open(config, { registry, logger });
    const schedules = schedulerSettings(config.monitoring?.scheduler);
    if (options.scheduler !== false && schedules.enabled) {
      scheduler = new Scheduler({
        monitoring,
        logger,
        // A window is judged with every answered row of it written.
        beforeMonitor: () => predictionLog?.flush() ?? Promise.resolve(),
      });
      await scheduler.init();
    }
    // A model that does not load stops the start with its error: serving a subset would hide it.
    if (options.models?.length)
      serving = await ModelServer.start({
        registry,
        features,
        models: options.models,
        refreshIntervalMs: options.refreshIntervalMs,
        seed: options.canarySeed,
        inputPolicies: {
          default: config.serving?.inputPolicy,
          models: Object.fromEntries(
            Object.entries(config.serving?.models ?? {}).map(([name, m]) => [name, m.inputPolicy]),
          ),
        },
        logger,
        session: sessionOptionsFrom(config),
      });
    const { enabled, ...logOptions } = parseInput(
      predictionLogConfig,
      config.monitoring?.predictionLog ?? {},
      'monitoring.predictionLog',
    );
    if (serving && enabled) predictionLog = new PredictionLog({ home: config.home, ...logOptions, logger });
    if (serving) requestFigures = new RequestFigures({ db: tracking.db, logger });
    app = await buildApp({
      auth: options.auth,
      services: {
        tracking,
        registry,
        features,
        serving,
        predictionLog,
        monitoring,
        requestFigures,
        scheduler,
        projectRoot: config.root,
        home: config.home,
      },
      batching: config.serving,
      logger,
      clusterMetrics: options.clusterWorker,
    });
    const url = await app.listen({
      host: options.host ?? config.server.host,
      port: options.port ?? config.server.port,
    });
    scheduler?.start();
    const flush = async () => {
      await predictionLog?.flush();
      await requestFigures?.flush();
    };
    const control = appControl(app);
    const drain = async (ms: number) => {
      control.drain();
      await new Promise((resolve) => setTimeout(resolve, ms));
    };
    return { app, url, served: () => serving?.list() ?? [], close, drain, flush };
  } catch (err) {
    await close();
    throw err;
  }
}
