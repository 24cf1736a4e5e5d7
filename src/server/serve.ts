/**
 * @module server/serve
 * `keel serve`: opens the configured stores, loads the models to serve, builds the app and listens
 * until SIGINT/SIGTERM, then drains in-flight requests, writes the prediction log's last rows and
 * closes the models and stores.
 */
import type { FastifyInstance } from 'fastify';
import { createLogger, type KeelConfig, parseInput } from '../core/index.js';
import { FeatureStore } from '../features/index.js';
import { PredictionLog, predictionLogConfig } from '../monitoring/index.js';
import { Registry } from '../registry/index.js';
import { type ModelEntry, ModelServer, type ServedModelInfo } from '../serving/index.js';
import { buildApp } from './app.js';

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
  let app: FastifyInstance | undefined;
  // The configured level holds (default warn): Fastify's per-request lines appear at info.
  const logger = createLogger(config.logLevel);
  const close = async () => {
    // In this order: answered requests append their rows, then the log writes them.
    await app?.close();
    await predictionLog?.close();
    await serving?.close();
    await features.close();
    await registry.close();
  };
  try {
    // A model that does not load stops the start with its error: serving a subset would hide it.
    if (options.models?.length)
      serving = await ModelServer.start({
        registry,
        features,
        models: options.models,
        refreshIntervalMs: options.refreshIntervalMs,
        inputPolicies: {
          default: config.serving?.inputPolicy,
          models: Object.fromEntries(
            Object.entries(config.serving?.models ?? {}).map(([name, m]) => [name, m.inputPolicy]),
          ),
        },
        logger,
      });
    const { enabled, ...logOptions } = parseInput(
      predictionLogConfig,
      config.monitoring?.predictionLog ?? {},
      'monitoring.predictionLog',
    );
    if (serving && enabled) predictionLog = new PredictionLog({ home: config.home, ...logOptions, logger });
    app = await buildApp({
      auth: options.auth,
      services: { tracking, registry, features, serving, predictionLog },
      batching: config.serving,
      logger,
    });
    const url = await app.listen({
      host: options.host ?? config.server.host,
      port: options.port ?? config.server.port,
    });
    return { app, url, served: () => serving?.list() ?? [], close };
  } catch (err) {
    await close();
    throw err;
  }
}
