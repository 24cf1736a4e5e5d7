/**
 * Starts the real Keel app on a loopback port over a fresh store, for tests that speak HTTP.
 */
import type { FastifyInstance } from 'fastify';
import type { ArtifactStore } from '../../src/artifacts/index.js';
import type { Policy, Registry } from '../../src/registry/index.js';
import { buildApp, type KeelServices } from '../../src/server/index.js';
import type { Tracking } from '../../src/tracking/index.js';
import { openTestRegistry } from './registry.js';
import type { Backend } from './tracking.js';

export interface TestServer {
  url: string;
  app: FastifyInstance;
  tracking: Tracking;
  registry: Registry;
  close: () => Promise<void>;
  /** JSON request helper: returns status and parsed body. */
  call: (
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ) => Promise<{ status: number; body: Record<string, unknown> }>;
}

/**
 * One request with a JSON body (a string is sent as is) and a JSON answer: status and parsed body
 * (empty when the answer is).
 */
export async function requestJson(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export interface TestServerOptions {
  /** Require bearer tokens (`keel serve --auth`). */
  auth?: boolean;
  /** The governance policy; none by default. */
  policy?: Policy;
  /** The artifact store; a fresh local folder by default. */
  artifacts?: ArtifactStore;
}

export async function startTestServer(
  backend: Backend = 'sqlite',
  postgresUrl?: string,
  onRequest?: (method: string, url: string) => void,
  options: TestServerOptions = {},
): Promise<TestServer> {
  const { registry, tracking, cleanup } = await openTestRegistry(backend, postgresUrl, {
    policy: options.policy,
    artifacts: options.artifacts,
  });
  const app = await buildApp({ services: { tracking, registry }, logger: false, auth: options.auth });
  if (onRequest) app.addHook('onRequest', async (request) => onRequest(request.method, request.url));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const call = (method: string, path: string, body?: unknown, token?: string) =>
    requestJson(url, method, path, body, token);
  return {
    url,
    app,
    tracking,
    registry,
    call,
    close: async () => {
      await app.close();
      await cleanup();
    },
  };
}

/** An app over given services, listening on a loopback port. */
export interface ServingApp {
  app: FastifyInstance;
  base: string;
  /** Stops the app, then writes the prediction log's rows and stops the served models. */
  close: () => Promise<void>;
}

/** Serves `services` (models, prediction log, ...) on a loopback port, without a logger. */
export async function listenServing(services: KeelServices): Promise<ServingApp> {
  const app = await buildApp({ services, logger: false });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app,
    base,
    close: async () => {
      await app.close();
      await services.predictionLog?.close();
      await services.serving?.close();
    },
  };
}
