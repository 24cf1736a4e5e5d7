/**
 * @module server/request-log
 * Fastify's per-request lines ("incoming request", "request completed") at debug instead of
 * info: at the default level a request writes nothing and builds no log object, and `log.level:
 * debug` in keel.yaml (or KEEL_LOG_LEVEL) turns them on. Errors keep their levels. Each request's
 * logger (its id bound) is made only when the request writes a line.
 */
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { LogController } from 'fastify';
import type { Logger } from '../core/index.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
const CHILD = Symbol('child');
const BINDINGS = Symbol('bindings');

type ChildArgs = Parameters<FastifyBaseLogger['child']>;

interface LazyChild {
  [CHILD]?: FastifyBaseLogger;
  [BINDINGS]: ChildArgs;
}

/** The prototype of a logger's lazy children: the logger itself, but for its enabled levels and `child`. */
const lazyPrototypes = new WeakMap<FastifyBaseLogger, object>();

function lazyPrototype(logger: FastifyBaseLogger): object {
  const proto = lazyPrototypes.get(logger);
  if (proto) return proto;
  const real = (lazy: LazyChild): FastifyBaseLogger => {
    lazy[CHILD] ??= logger.child(...lazy[BINDINGS]);
    return lazy[CHILD];
  };
  const made = Object.create(logger) as Record<string, unknown>;
  // Disabled levels stay the logger's no-ops: no child is made for a line nobody writes.
  for (const level of LEVELS)
    if ((logger as Logger).isLevelEnabled(level))
      made[level] = function (this: LazyChild, ...args: unknown[]) {
        return (real(this)[level] as (...a: unknown[]) => void)(...args);
      };
  made.child = function (this: LazyChild, ...args: ChildArgs) {
    return real(this).child(...args);
  };
  lazyPrototypes.set(logger, made);
  return made;
}

/**
 * Fastify's `childLoggerFactory`: a pino child costs a microsecond or so per request (its
 * bindings serialized), and at the default level almost no request writes a line. The child is
 * made at the first line written at an enabled level.
 */
export function lazyChildLogger(
  logger: FastifyBaseLogger,
  bindings: ChildArgs[0],
  options: ChildArgs[1],
): FastifyBaseLogger {
  const lazy = Object.create(lazyPrototype(logger)) as LazyChild;
  lazy[BINDINGS] = [bindings, options];
  return lazy as unknown as FastifyBaseLogger;
}

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
