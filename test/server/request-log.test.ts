/**
 * Fastify's per-request lines go to debug: a server at Keel's default level (warn), or at info,
 * writes nothing for a request it answers; at debug it writes the request and its completion,
 * with the request id. Errors are logged at their own level whatever debug says.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogLevel } from '../../src/core/index.js';
import { buildApp } from '../../src/server/index.js';
import { openTestRegistry } from '../helpers/registry.js';

interface Line {
  level: number;
  msg: string;
  reqId?: string;
}

async function serveAt(level: LogLevel) {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const text of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  const { tracking, registry, cleanup } = await openTestRegistry('sqlite');
  const app = await buildApp({ services: { tracking, registry }, logger: pino({ level }, sink) });
  const close = async () => {
    await app.close();
    await cleanup();
  };
  return { app, lines, close };
}

describe('request logging', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it.each(['warn', 'info'] as const)('writes nothing for an answered request at %s', async (level) => {
    const served = await serveAt(level);
    close = served.close;
    const res = await served.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(served.lines.map((l) => l.msg)).toEqual([]);
  });

  it('writes the request and its completion at debug', async () => {
    const served = await serveAt('debug');
    close = served.close;
    const res = await served.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    const mine = served.lines.filter((l) => l.reqId === res.headers['x-request-id']);
    expect(mine.map((l) => [l.level, l.msg])).toEqual([
      [20, 'incoming request'],
      [20, 'request completed'],
    ]);
  });
});
