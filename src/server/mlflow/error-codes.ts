/**
 * @module server/mlflow/error-codes
 * What each Keel error code becomes on MLflow's routes. The MLflow client turns a response's
 * `error_code` into its `ErrorCode` enumeration (mlflow/protos/databricks.proto), so a name outside
 * it makes the client report INTERNAL_ERROR with a warning; and it retries 408, 429, 500, 502, 503
 * and 504 with backoff (mlflow/utils/request_utils.py), so an error that no retry can cure must not
 * answer one of those. Keel's own routes and the CLI keep Keel's codes.
 */
import type { ErrorCode } from '../../core/index.js';

/** The MLflow codes Keel answers with: a subset of MLflow's `ErrorCode` enumeration. */
export type MlflowErrorCode =
  | 'INVALID_PARAMETER_VALUE'
  | 'BAD_REQUEST'
  | 'RESOURCE_ALREADY_EXISTS'
  | 'RESOURCE_DOES_NOT_EXIST'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'REQUEST_LIMIT_EXCEEDED'
  | 'INVALID_STATE'
  | 'INTERNAL_ERROR'
  | 'TEMPORARILY_UNAVAILABLE';

/**
 * Every Keel code's MLflow code and HTTP status. The status is MLflow's own for that code
 * (`ERROR_CODE_TO_HTTP_STATUS`) except INVALID_STATE for a failed gate or precondition: MLflow
 * says 500 there, which the client would retry for minutes, so it answers 400.
 */
export const MLFLOW_ERRORS: Record<ErrorCode, { code: MlflowErrorCode; status: number }> = {
  INVALID_PARAMETER_VALUE: { code: 'INVALID_PARAMETER_VALUE', status: 400 },
  BAD_REQUEST: { code: 'BAD_REQUEST', status: 400 },
  RESOURCE_ALREADY_EXISTS: { code: 'RESOURCE_ALREADY_EXISTS', status: 400 },
  RESOURCE_DOES_NOT_EXIST: { code: 'RESOURCE_DOES_NOT_EXIST', status: 404 },
  UNAUTHENTICATED: { code: 'UNAUTHENTICATED', status: 401 },
  PERMISSION_DENIED: { code: 'PERMISSION_DENIED', status: 403 },
  REQUEST_LIMIT_EXCEEDED: { code: 'REQUEST_LIMIT_EXCEEDED', status: 429 },
  // A content type MLflow's API does not take: a bad request, still answered 415.
  UNSUPPORTED_MEDIA_TYPE: { code: 'BAD_REQUEST', status: 415 },
  // A failed gate, an approval pending, a lock held: the object's state forbids the request.
  FAILED_PRECONDITION: { code: 'INVALID_STATE', status: 400 },
  DATA_VALIDATION_FAILED: { code: 'INVALID_PARAMETER_VALUE', status: 400 },
  EXECUTION_FAILED: { code: 'INTERNAL_ERROR', status: 500 },
  INVALID_STATE: { code: 'INVALID_STATE', status: 500 },
  INTERNAL_ERROR: { code: 'INTERNAL_ERROR', status: 500 },
  TEMPORARILY_UNAVAILABLE: { code: 'TEMPORARILY_UNAVAILABLE', status: 503 },
};

/** Whether a request path belongs to MLflow's API (where only MLflow's codes may be answered). */
export const isMlflowPath = (url: string): boolean =>
  /^\/(ajax-)?api\/2\.0\/mlflow(\/|-artifacts\/|$)/.test(url);
