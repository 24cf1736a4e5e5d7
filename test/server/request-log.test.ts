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
import { lazyChildLogger } from '../../src/server/request-log.js';
import { openTestRegistry } from '../helpers/registry.js';

interface Line {
  level: number;
  msg: string;
  reqId?: string;
}

function collect(): { lines: Line[]; sink: Writable } {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const text of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  return { lines, sink };
}

async function serveAt(level: LogLevel) {
  const { lines, sink } = collect();
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

  it("binds a request's id to the lines it writes, making its logger only for a line written", async () => {
    const { lines, sink } = collect();
    const parent = pino({ level: 'warn' }, sink);
    const log = lazyChildLogger(parent, { reqId: 'r-1' }, {});
    log.info('not at warn');
    log.debug({ big: 'object' }, 'nor this');
    expect((log as unknown as { isLevelEnabled(l: string): boolean }).isLevelEnabled('info')).toBe(false);
    expect(log.level).toBe('warn');
    log.warn('slow');
    log.child({ part: 2 }).error('failed');
    parent.flush();
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((l) => [l.level, l.msg, l.reqId, (l as { part?: number }).part])).toEqual([
      [40, 'slow', 'r-1', undefined],
      [50, 'failed', 'r-1', 2],
    ]);
  });
});
