/**
 * @module server/errors
 * Where errors become HTTP responses. A KeelError keeps its code and status; Fastify's own errors
 * (malformed JSON, body too large, wrong content type) become 4xx with a precise message; an
 * INTERNAL_ERROR or anything else is a 500 whose message (SQL, a driver's words) is not shown to the
 * client. Every 5xx is logged with its cause.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, KeelError } from '../core/index.js';

const INTERNAL_MESSAGE = 'Internal server error';

/** Classifies any error thrown while handling a request; `internal` ones (every 5xx) are logged. */
export function toHttpError(err: unknown): {
  status: number;
  code: ErrorCode;
  message: string;
  internal: boolean;
} {
  if (err instanceof KeelError) {
    const internal = err.code === 'INTERNAL_ERROR';
    return {
      status: err.status,
      code: err.code,
      message: internal ? INTERNAL_MESSAGE : err.message,
      internal: err.status >= 500,
    };
  }
  const fe = err as FastifyError;
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return {
      status: 413,
      code: 'REQUEST_LIMIT_EXCEEDED',
      message: `Request body is too large: ${fe.message}`,
      internal: false,
    };
  }
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || fe.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
    return {
      status: fe.statusCode ?? 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: fe.message,
      internal: false,
    };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const message =
      fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || fe instanceof SyntaxError
        ? `Malformed JSON body: ${fe.message}`
        : fe.message;
    return { status: fe.statusCode, code: 'BAD_REQUEST', message, internal: false };
  }
  return { status: 500, code: 'INTERNAL_ERROR', message: INTERNAL_MESSAGE, internal: true };
}

export function logIfInternal(request: FastifyRequest, err: unknown, internal: boolean): void {
  if (internal) request.log.error({ err }, 'request failed');
}

/** The MLflow error body `{error_code, message}`: used by every API family that has no shape of its own. */
export function mlflowErrorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = toHttpError(err);
  logIfInternal(request, err, e.internal);
  return reply.status(e.status).send({ error_code: e.code, message: e.message });
}
