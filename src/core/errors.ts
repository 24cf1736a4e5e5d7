/**
 * @module core/errors
 * One error hierarchy for the whole of Keel. Every code maps to one HTTP status and one CLI exit
 * code, in one table, so the library never talks in status codes and the edges (server, CLI) map
 * at the last moment. The names follow MLflow's error codes so its routes pass them through.
 */

/** Every error code Keel raises, with its HTTP status and CLI exit code. */
export const ERROR_CODES = {
  INVALID_PARAMETER_VALUE: { status: 400, exit: 2 },
  BAD_REQUEST: { status: 400, exit: 2 },
  RESOURCE_ALREADY_EXISTS: { status: 400, exit: 3 },
  RESOURCE_DOES_NOT_EXIST: { status: 404, exit: 4 },
  UNAUTHENTICATED: { status: 401, exit: 5 },
  PERMISSION_DENIED: { status: 403, exit: 5 },
  REQUEST_LIMIT_EXCEEDED: { status: 429, exit: 6 },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, exit: 2 },
  /** The request is well formed but the object's state forbids it (e.g. a failed gate). */
  FAILED_PRECONDITION: { status: 409, exit: 7 },
  /** Data failed validation (ingestion, schema checks): the batch was rejected whole. */
  DATA_VALIDATION_FAILED: { status: 422, exit: 8 },
  /** A pipeline stage or training command failed. */
  EXECUTION_FAILED: { status: 500, exit: 9 },
  INVALID_STATE: { status: 500, exit: 10 },
  INTERNAL_ERROR: { status: 500, exit: 1 },
  TEMPORARILY_UNAVAILABLE: { status: 503, exit: 11 },
} as const satisfies Record<string, { status: number; exit: number }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface KeelErrorOptions {
  cause?: unknown;
  /** Structured facts a caller or a report may show (a validation report, a failing gate). */
  details?: Record<string, unknown>;
}

/** The only error type Keel throws on purpose. `message` names the object it is about. */
export class KeelError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: KeelErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KeelError';
    this.code = code;
    if (options.details) this.details = options.details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }
}

export const invalid = (message: string, details?: Record<string, unknown>): KeelError =>
  new KeelError('INVALID_PARAMETER_VALUE', message, { details });

export const notFound = (message: string): KeelError => new KeelError('RESOURCE_DOES_NOT_EXIST', message);

export const alreadyExists = (message: string): KeelError =>
  new KeelError('RESOURCE_ALREADY_EXISTS', message);

/** Wraps anything thrown into a KeelError, keeping the original as the cause. */
export function toKeelError(err: unknown): KeelError {
  if (err instanceof KeelError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new KeelError('INTERNAL_ERROR', message, { cause: err });
}

export function isKeelError(err: unknown, code?: ErrorCode): err is KeelError {
  return err instanceof KeelError && (code === undefined || err.code === code);
}
