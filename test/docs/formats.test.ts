/**
 * The documented file formats stay complete: every key the train.yaml and ingest schema parsers
 * accept is described in docs/train-config.md and docs/ingest-schema.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { datasetSpecSchema } from '../../src/data/index.js';
import { trainConfigSchema } from '../../src/ml/index.js';

const docs = join(import.meta.dirname, '..', '..', 'docs');

/** Every object key a zod schema accepts, looking through wrappers, unions and arrays. */
function keys(schema: z.ZodType, out = new Set<string>()): Set<string> {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  switch (def.type) {
    case 'object':
      for (const [key, child] of Object.entries(def.shape as Record<string, z.ZodType>)) {
        out.add(key);
        keys(child, out);
      }
      break;
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
      keys(def.innerType as z.ZodType, out);
      break;
    case 'pipe':
      keys(def.in as z.ZodType, out);
      break;
    case 'union':
      for (const option of def.options as z.ZodType[]) keys(option, out);
      break;
    case 'array':
      keys(def.element as z.ZodType, out);
      break;
  }
  return out;
}

const documented = (text: string, key: string) => new RegExp(`\`(?:[\\w.]+\\.)?${key}\``).test(text);

describe('format docs', () => {
  it.each([
    ['train-config.md', trainConfigSchema],
    ['ingest-schema.md', datasetSpecSchema],
  ] as const)('%s describes every key its parser accepts', (file, schema) => {
    const text = readFileSync(join(docs, file), 'utf8');
    const all = [...keys(schema as unknown as z.ZodType)];
    expect(all.length).toBeGreaterThan(10);
    expect(all.filter((k) => !documented(text, k))).toEqual([]);
  });
});
