/**
 * @module server/serve
 * `keel serve`: opens the configured stores, builds the app and listens until SIGINT/SIGTERM,
 * then drains in-flight requests and closes the stores.
 */
import type { FastifyInstance } from 'fastify';
import { createLogger, type KeelConfig } from '../core/index.js';
import { FeatureStore } from '../features/index.js';
import { Registry } from '../registry/index.js';
import { buildApp } from './app.js';

export interface ServeOptions {
  host?: string;
  port?: number;
  /** Require API tokens (`keel tokens create`) on every route but /health. */
  auth?: boolean;
}

export async function startServer(
  config: KeelConfig,
  options: ServeOptions = {},
): Promise<{ app: FastifyInstance; url: string; close: () => Promise<void> }> {
  const registry = await Registry.open(config);
  const tracking = registry.tracking;
  const features = new FeatureStore({ config });
  const app = await buildApp({
    auth: options.auth,
    services: { tracking, registry, features },
    logger: createLogger(config.logLevel === 'warn' ? 'info' : config.logLevel),
  });
  const url = await app.listen({
    host: options.host ?? config.server.host,
    port: options.port ?? config.server.port,
  });
  const close = async () => {
    await app.close();
    await features.close();
    await registry.close();
  };
  return { app, url, close };
}
