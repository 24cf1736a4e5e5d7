/**
 * @module core/validate
 * zod at the edges: one function turns a zod failure into a KeelError whose message names the
 * field and what was wrong with it, so the CLI and every route answer bad input the same way.
 */
import { z } from 'zod';
import { KeelError } from './errors.js';

/** Formats zod issues as `field: problem; other.field: problem`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/**
 * Parses `input` with `schema`.
 * @throws KeelError INVALID_PARAMETER_VALUE naming every failing field (prefixed by `what`).
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what = 'input'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new KeelError('INVALID_PARAMETER_VALUE', `Invalid ${what}: ${describeIssues(result.error.issues)}`, {
    details: { issues: result.error.issues },
  });
}

/**
 * `z.strictObject` whose unknown-key error lists the valid keys, for what users write by hand
 * (train.yaml, schema.yaml, keel.yaml): `unknown key 'iteration': valid keys are ...`.
 */
export function strictObject<T extends z.core.$ZodLooseShape>(shape: T) {
  const valid = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}: valid keys are ${valid}`
        : undefined,
  });
}
