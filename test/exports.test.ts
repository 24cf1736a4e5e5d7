/**
 * The package's public surface: every name the README promises is exported, and none twice.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as keel from '../src/index.js';

describe('package exports', () => {
  it('exports what the README uses', () => {
    for (const name of [
      'loadConfig',
      'openTrackingClient',
      'Tracking',
      'KeelError',
      'buildApp',
      'startServer',
      'Registry',
      'readSignature',
      'ModelServer',
      'Predictor',
    ]) {
      expect(keel, name).toHaveProperty(name);
    }
  });

  it('names no export twice in src/index.ts', () => {
    const text = readFileSync(join(import.meta.dirname, '..', 'src', 'index.ts'), 'utf8');
    const names = [...text.matchAll(/export\s*\{([^}]*)\}/g)].flatMap((m) =>
      m[1]
        .split(',')
        .map(
          (s) =>
            s
              .trim()
              .replace(/^type\s+/, '')
              .split(/\s+as\s+/)
              .pop()!,
        )
        .filter(Boolean),
    );
    expect(names.length).toBeGreaterThan(10);
    expect(new Set(names).size).toBe(names.length);
  });
});
