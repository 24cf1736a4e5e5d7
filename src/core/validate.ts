/**
 * @module core/validate
 * zod at the edges: one function turns a zod failure into a KeelError whose message names the
 * field and what was wrong with it, so the CLI and every route answer bad input the same way.
 * One rule comes before any schema: no string anywhere in the input may hold a NUL byte.
 * PostgreSQL cannot store one and SQLite would, so the two backends would disagree; C libraries
 * and file systems cut strings at it. Lookups by a name from outside go through `own`.
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

/** An object literal, JSON.parse's output or a query-string parser's null-prototype record. */
function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === null || proto === Object.prototype || Object.getPrototypeOf(proto) === null;
}

/** The path of the first string holding a NUL byte in a JSON-like value (`''` for the value itself). */
function findNul(value: unknown): string | undefined {
  return nulPath(value)?.reverse().join('.');
}

/**
 * The path to the first NUL, innermost step first; built only once one is found, since every
 * request body is walked and almost none holds one.
 */
function nulPath(value: unknown): string[] | undefined {
  if (typeof value === 'string') return value.includes('\0') ? [] : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      // Numbers are most of a scoring body: no call for them.
      if (typeof item === 'number') continue;
      const found = nulPath(item);
      if (found) {
        found.push(String(i));
        return found;
      }
    }
    return undefined;
  }
  if (!isPlainObject(value)) return undefined;
  for (const key of Object.keys(value)) {
    if (key.includes('\0')) return [key];
    const found = nulPath((value as Record<string, unknown>)[key]);
    if (found) {
      found.push(key);
      return found;
    }
  }
  return undefined;
}

/** @throws KeelError INVALID_PARAMETER_VALUE naming the field when a string in `input` holds a NUL byte. */
export function refuseNul(input: unknown, what = 'input'): void {
  const at = findNul(input);
  if (at !== undefined)
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `Invalid ${what}: ${at ? `${at}: ` : ''}must not contain NUL bytes (\\u0000)`,
    );
}

/**
 * `record[key]` only when `key` is the record's own: a name from outside (`constructor`,
 * `__proto__`, `toString`) never reaches Object.prototype.
 */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/**
 * Parses `input` with `schema`.
 * @throws KeelError INVALID_PARAMETER_VALUE naming every failing field (prefixed by `what`), or
 *   the field holding a NUL byte.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what = 'input'): z.output<S> {
  refuseNul(input, what);
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
