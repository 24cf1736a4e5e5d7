/**
 * @module data/spec-schema
 * zod schemas for column specs and rules: one definition checks what a library caller passes
 * and what a schema.yaml holds, so both get the same precise INVALID_PARAMETER_VALUE.
 */
import { z } from 'zod';
import { parseInput, strictObject } from '../core/index.js';
import { csvOptionsSchema } from './csv.js';
import type { ColumnSpec, ValidationRules } from './types.js';

const shareSchema = z.number().min(0).max(1);

/** Every column type, in the order error messages list them. */
const COLUMN_TYPES = ['int64', 'float64', 'string', 'bool', 'timestamp', 'date'] as const;

/** A column type; an unknown one is named in the error with the valid choices. */
export const columnTypeSchema = z.enum(COLUMN_TYPES, {
  error: (issue) => `unknown type ${JSON.stringify(issue.input)}: use one of ${COLUMN_TYPES.join(', ')}`,
});

/** One `ColumnSpec`, with min/max, allowed and format checked against the column's type. */
export const columnSpecSchema = strictObject({
  name: z.string().min(1),
  type: columnTypeSchema,
  nullable: z.boolean().optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  allowed: z.array(z.string()).min(1).optional(),
  format: z.string().min(1).optional(),
  maxMissingShare: shareSchema.optional(),
}).superRefine((c, ctx) => {
  const numeric = c.type === 'int64' || c.type === 'float64';
  if ((c.min !== undefined || c.max !== undefined) && !numeric) {
    ctx.addIssue({ code: 'custom', message: `min/max apply to int64 and float64 columns, not ${c.type}` });
  }
  if (c.min !== undefined && c.max !== undefined && c.min > c.max) {
    ctx.addIssue({ code: 'custom', message: `min ${c.min} is greater than max ${c.max}` });
  }
  if (c.allowed && c.type !== 'string') {
    ctx.addIssue({ code: 'custom', message: `allowed applies to string columns, not ${c.type}` });
  }
  if (c.format && c.type !== 'timestamp' && c.type !== 'date') {
    ctx.addIssue({
      code: 'custom',
      message: `format applies to timestamp and date columns, not ${c.type}`,
    });
  }
}) satisfies z.ZodType<ColumnSpec>;

/** `ValidationRules`; shares are 0..1. */
export const rulesSchema = strictObject({
  maxMissingShare: shareSchema.optional(),
  maxDuplicateShare: shareSchema.optional(),
  uniqueKey: z.array(z.string().min(1)).min(1).optional(),
  volume: strictObject({
    minRows: z.number().int().nonnegative().optional(),
    maxChangeShare: z.number().nonnegative().optional(),
  }).optional(),
  extraColumns: z.enum(['drop', 'reject']).optional(),
}) satisfies z.ZodType<ValidationRules>;

/** Columns and rules together, checked against each other (unique names, key columns declared). */
export const datasetSpecSchema = strictObject({
  columns: z.array(columnSpecSchema).min(1),
  rules: rulesSchema.optional(),
  rename: z.record(z.string(), z.string().min(1)).optional(),
  nullValues: z.array(z.string()).optional(),
  format: z.enum(['csv', 'parquet', 'json']).optional(),
  /** How CSV inputs are written; what is left out is sniffed (data/csv.ts). */
  csv: csvOptionsSchema.optional(),
}).superRefine((spec, ctx) => {
  // DuckDB identifiers ignore case, so `ID` and `id` are one column there.
  const seen = new Set<string>();
  for (const { name } of spec.columns) {
    if (seen.has(name.toLowerCase())) {
      ctx.addIssue({
        code: 'custom',
        path: ['columns'],
        message: `column '${name}' is declared twice (ignoring case)`,
      });
    }
    if (name.startsWith('__')) {
      ctx.addIssue({
        code: 'custom',
        path: ['columns'],
        message: `column '${name}': names starting with __ are reserved`,
      });
    }
    seen.add(name.toLowerCase());
  }
  const declared = new Set(spec.columns.map((c) => c.name));
  for (const key of spec.rules?.uniqueKey ?? []) {
    if (!declared.has(key)) {
      ctx.addIssue({
        code: 'custom',
        path: ['rules', 'uniqueKey'],
        message: `'${key}' is not a declared column`,
      });
    }
  }
});

/** What a schema.yaml holds, and what `ingest` and `validate` check their options against. */
export type DatasetSpec = z.infer<typeof datasetSpecSchema>;

/**
 * Picks and checks the spec fields of ingest or validate options.
 * @throws KeelError INVALID_PARAMETER_VALUE naming each invalid field, prefixed by `what`.
 */
export function parseDatasetSpec(options: Partial<DatasetSpec>, what: string): DatasetSpec {
  const { columns, rules, rename, format, nullValues, csv } = options;
  return parseInput(datasetSpecSchema, { columns, rules, rename, format, nullValues, csv }, what);
}
