/**
 * @module server/version
 * Keel's package version, read from package.json once: the same relative path from `src/server`
 * (tests, tsx) and from `dist/server` (the built package).
 */
import { readFileSync } from 'node:fs';

export const KEEL_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
