/**
 * Test access to the real services the project talks to (Redis, PostgreSQL). A suite that needs
 * one runs whenever it answers; with CI=true a missing service is a failure, never a skip.
 */
import { createConnection } from 'node:net';

export const REDIS_URL = process.env.KEEL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const POSTGRES_URL = process.env.KEEL_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const inCi = process.env.CI === 'true';

function portAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/**
 * Resolves to the service URL when it answers, undefined when it does not.
 * @throws when CI=true and the service does not answer.
 */
export async function serviceUrl(name: 'redis' | 'postgres'): Promise<string | undefined> {
  const url = name === 'redis' ? REDIS_URL : POSTGRES_URL;
  if (await portAnswers(url)) return url;
  if (inCi) throw new Error(`${name} at ${url} does not answer, and CI=true requires it`);
  return undefined;
}
