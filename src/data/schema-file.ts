/**
 * @module data/schema-file
 * A dataset's schema.yaml: its columns, rules, renames, null values and format, checked with zod.
 *
 * @example
 * columns:
 *   - { name: Quantity, type: int64, nullable: false }
 *   - { name: CustomerID, type: float64 }
 * rules:
 *   maxDuplicateShare: 0.01
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { KeelError, parseInput } from '../core/index.js';
import { type DatasetSpec, datasetSpecSchema } from './spec-schema.js';

/**
 * Parses schema YAML text; `source` names it in errors.
 * @throws KeelError INVALID_PARAMETER_VALUE for invalid YAML or a field that breaks the schema.
 */
export function parseSchemaText(text: string, source: string): DatasetSpec {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new KeelError('INVALID_PARAMETER_VALUE', `${source} is not valid YAML: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseInput(datasetSpecSchema, raw, `schema ${source}`);
}

/**
 * Reads and parses a schema file.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST when the file is missing; INVALID_PARAMETER_VALUE
 * when it is invalid.
 */
export function loadSchemaFile(path: string): DatasetSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new KeelError(
      'RESOURCE_DOES_NOT_EXIST',
      `Schema file '${path}' cannot be read: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return parseSchemaText(text, path);
}
