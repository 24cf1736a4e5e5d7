/**
 * @module server/serve
 * `keel serve`: opens the configured stores, builds the app and listens until SIGINT/SIGTERM,
 * then drains in-flight requests and closes the stores.
 */
import type { FastifyInstance } from 'fastify';
import { createLogger, type KeelConfig } from '../core/index.js';
import { Tracking } from '../tracking/index.js';
import { buildApp } from './app.js';

export interface ServeOptions {
  host?: string;
  port?: number;
}

export async function startServer(
  config: KeelConfig,
  options: ServeOptions = {},
): Promise<{ app: FastifyInstance; url: string; close: () => Promise<void> }> {
  const tracking = await Tracking.open(config);
  const app = await buildApp({
    services: { tracking },
    logger: createLogger(config.logLevel === 'warn' ? 'info' : config.logLevel),
  });
  const url = await app.listen({
    host: options.host ?? config.server.host,
    port: options.port ?? config.server.port,
  });
  const close = async () => {
    await app.close();
    await tracking.close();
  };
  return { app, url, close };
}
