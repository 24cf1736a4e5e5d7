/**
 * @module server/request-log
 * Fastify's per-request lines ("incoming request", "request completed") at debug instead of
 * info: at the default level a request writes nothing and builds no log object, and `log.level:
 * debug` in keel.yaml (or KEEL_LOG_LEVEL) turns them on. Errors keep their levels.
 */
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { LogController } from 'fastify';
import type { Logger } from '../core/index.js';

/** Fastify's request loggers are pino children (Keel hands Fastify a pino logger). */
const debugOn = (log: FastifyBaseLogger): boolean => (log as Logger).isLevelEnabled('debug');

export class RequestLogController extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (debugOn(request.log)) request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (error) super.requestCompleted(error, request, reply);
    else if (debugOn(reply.log))
      reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}
