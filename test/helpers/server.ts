/**
 * Starts the real Keel app on a loopback port over a fresh store, for tests that speak HTTP.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/server/index.js';
import type { Tracking } from '../../src/tracking/index.js';
import { type Backend, openTestTracking } from './tracking.js';

export interface TestServer {
  url: string;
  app: FastifyInstance;
  tracking: Tracking;
  close: () => Promise<void>;
  /** JSON request helper: returns status and parsed body. */
  call: (
    method: string,
    path: string,
    body?: unknown,
  ) => Promise<{ status: number; body: Record<string, unknown> }>;
}

export async function startTestServer(
  backend: Backend = 'sqlite',
  postgresUrl?: string,
  onRequest?: (method: string, url: string) => void,
): Promise<TestServer> {
  const { tracking, cleanup } = await openTestTracking(backend, postgresUrl);
  const app = await buildApp({ services: { tracking }, logger: false });
  if (onRequest) app.addHook('onRequest', async (request) => onRequest(request.method, request.url));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  return {
    url,
    app,
    tracking,
    call,
    close: async () => {
      await app.close();
      await cleanup();
    },
  };
}
