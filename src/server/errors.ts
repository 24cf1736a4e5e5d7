/**
 * @module server/errors
 * Where errors become HTTP responses. A KeelError keeps its code and status; Fastify's own errors
 * (malformed JSON, body too large, wrong content type) become 4xx with a precise message; anything
 * else (and an INTERNAL_ERROR) is a 500 whose message (SQL, a driver's words) is not shown to the
 * client; every 5xx is logged with its cause. On MLflow's routes the
 * code and status become MLflow's (`mlflow/error-codes.ts`); Keel's own routes keep Keel's.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, KeelError } from '../core/index.js';
import { isMlflowPath, MLFLOW_ERRORS } from './mlflow/error-codes.js';

const INTERNAL_MESSAGE = 'Internal server error';

/** Classifies any error thrown while handling a request; `internal` ones (every 5xx) are logged. */
export function toHttpError(err: unknown): {
  status: number;
  code: ErrorCode;
  message: string;
  internal: boolean;
} {
  if (err instanceof KeelError) {
    // An INTERNAL_ERROR's message may hold SQL or a driver's words: logged, never shown.
    return {
      status: err.status,
      code: err.code,
      message: err.code === 'INTERNAL_ERROR' ? INTERNAL_MESSAGE : err.message,
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

/**
 * What an error answers on MLflow's routes: MLflow's code, and MLflow's status for a KeelError
 * (Fastify's own errors keep theirs: 413 for a body too large, 415 for a content type).
 */
export function toMlflowError(err: unknown): ReturnType<typeof toHttpError> & { mlflowCode: string } {
  const e = toHttpError(err);
  const mapped = MLFLOW_ERRORS[e.code];
  return { ...e, status: err instanceof KeelError ? mapped.status : e.status, mlflowCode: mapped.code };
}

/**
 * MLflow's error body `{error_code, message}` with MLflow's codes, for MLflow's routes. MLflow's
 * client shows only the message, so a gate report (every gate with PASS/FAIL and what would
 * satisfy it) follows the message there.
 */
export function mlflowErrorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = toMlflowError(err);
  logIfInternal(request, err, e.internal);
  const report = err instanceof KeelError && !e.internal ? err.details?.report : undefined;
  const message = typeof report === 'string' && report ? `${e.message}\n${report}` : e.message;
  return reply.status(e.status).send({ error_code: e.mlflowCode, message });
}

/** The same body with Keel's own codes and statuses, for Keel's routes. */
export function keelErrorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = toHttpError(err);
  logIfInternal(request, err, e.internal);
  return reply.status(e.status).send({ error_code: e.code, message: e.message });
}

/** For routes and hooks outside any API family (health, unknown paths): chosen by the path. */
export function rootErrorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return (isMlflowPath(request.url) ? mlflowErrorHandler : keelErrorHandler)(err, request, reply);
}
