/**
 * @module server/request-id
 * Every request gets an id, answered in `X-Request-Id`: the client's own when it sends a valid one
 * (so a caller can correlate its logs with Keel's), a fresh UUID otherwise. Fastify logs it, and
 * the prediction log records it, so `POST /feedback` can join labels to predictions by it.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { checkRequestId, REQUEST_ID_PATTERN } from '../monitoring/index.js';

const HEADER = 'x-request-id';

/** Fastify's `genReqId`: the client's id when valid; an invalid one is refused by the hook below. */
export function requestId(req: IncomingMessage): string {
  const given = req.headers[HEADER];
  return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
}

/**
 * Answers every request's id in `X-Request-Id`; refuses a malformed client id with a 400 rather
 * than replacing it silently, which would break the caller's correlation without a word.
 */
export function enableRequestIds(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(HEADER, request.id);
    const given = request.headers[HEADER];
    if (given === undefined) return done();
    try {
      checkRequestId(Array.isArray(given) ? given.join(',') : given, 'the X-Request-Id header');
      done();
    } catch (err) {
      done(err as Error);
    }
  });
}
