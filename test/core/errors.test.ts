import { describe, expect, it } from 'vitest';
import { ERROR_CODES, KeelError, toKeelError } from '../../src/core/index.js';

describe('KeelError', () => {
  it('maps codes to HTTP statuses and exit codes from one table', () => {
    const e = new KeelError('RESOURCE_DOES_NOT_EXIST', 'No run x');
    expect([e.status, e.exitCode]).toEqual([404, 4]);
    expect(new KeelError('INVALID_PARAMETER_VALUE', 'bad').status).toBe(400);
    expect(new KeelError('DATA_VALIDATION_FAILED', 'bad').exitCode).toBe(8);
    for (const [code, { status, exit }] of Object.entries(ERROR_CODES)) {
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(exit, code).toBeGreaterThan(0);
    }
  });

  it('wraps foreign errors as INTERNAL_ERROR and keeps the cause', () => {
    const cause = new TypeError('boom');
    const e = toKeelError(cause);
    expect(e.code).toBe('INTERNAL_ERROR');
    expect(e.cause).toBe(cause);
    const k = new KeelError('BAD_REQUEST', 'x');
    expect(toKeelError(k)).toBe(k);
  });
});
