/**
 * @module registry/names
 * Validation of the names the registry accepts: model names, version numbers, stages and aliases
 * (MLflow's alias rules: `^[\w\-]*$`, at most 255 characters, `latest` and `v<digits>` reserved).
 */
import { KeelError } from '../core/index.js';
import { STAGES, type Stage } from './types.js';

const bad = (message: string) => new KeelError('INVALID_PARAMETER_VALUE', message);

/** @throws KeelError INVALID_PARAMETER_VALUE for an empty name or one with `/` or `@`. */
export function validateModelName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '') {
    throw bad('Registered model name must be a non-empty string');
  }
  if (name.length > 256)
    throw bad(`Registered model name '${name.slice(0, 40)}...' is longer than 256 characters`);
  // `/` and `@` would make models:/ URIs ambiguous.
  if (/[/@:\\\0]/.test(name) || name === '.' || name === '..') {
    throw bad(`Registered model name '${name}' must not contain '/', '\\', ':' or '@', nor be '.' or '..'`);
  }
  return name;
}

/** Parses a version given as a number or a numeric string. @throws INVALID_PARAMETER_VALUE */
export function parseVersion(version: unknown): number {
  const n =
    typeof version === 'number'
      ? version
      : typeof version === 'string' && /^\d+$/.test(version)
        ? Number(version)
        : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw bad(`Model version must be a positive integer, got '${String(version)}'`);
  }
  return n;
}

/** Accepts MLflow's stage names in any case (`production` -> `Production`). @throws INVALID_PARAMETER_VALUE */
export function parseStage(stage: unknown): Stage {
  const found = STAGES.find((s) => typeof stage === 'string' && s.toLowerCase() === stage.toLowerCase());
  if (!found) throw bad(`Invalid stage '${String(stage)}': use one of ${STAGES.join(', ')}`);
  return found;
}

/** @throws KeelError INVALID_PARAMETER_VALUE naming the alias and the rule it breaks. */
export function validateAlias(alias: unknown): string {
  if (typeof alias !== 'string' || alias === '') throw bad('Alias must be a non-empty string');
  if (alias.length > 255) throw bad(`Alias '${alias.slice(0, 40)}...' is longer than 255 characters`);
  if (!/^[\w-]*$/.test(alias)) {
    throw bad(`Alias '${alias}' may contain only letters, digits, '_' and '-'`);
  }
  if (alias.toLowerCase() === 'latest') throw bad(`Alias '${alias}' is reserved`);
  if (/^[vV]\d+$/.test(alias)) throw bad(`Alias '${alias}' is reserved: it looks like a version number`);
  return alias;
}
