/**
 * @module data/history
 * The record of a dataset's accepted ingests, `<home>/offline/<dataset>/_ingests.json`, kept for
 * the volume check and shown with the validation checks each passed. Written atomically; a
 * rejected batch never touches it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { KeelError, writeFileAtomic } from '../core/index.js';

/** A validation check's verdict as the history keeps it: without the offending examples. */
const checkSchema = z.object({
  check: z.string(),
  column: z.string().optional(),
  passed: z.boolean(),
  observed: z.union([z.number(), z.string(), z.null()]),
  threshold: z.union([z.number(), z.string(), z.null()]),
  count: z.number().optional(),
  message: z.string(),
});

const entrySchema = z.object({
  at: z.number(),
  rows: z.number().int().nonnegative(),
  partition: z.string(),
  digest: z.string(),
  files: z.array(z.string()),
  /** sha256 over the input files' digests: the same batch ingested again has the same one. */
  inputDigest: z.string().optional(),
  /** The validation checks the batch passed (histories written before they were kept have none). */
  checks: z.array(checkSchema).optional(),
});

export type IngestHistoryEntry = z.infer<typeof entrySchema>;

const HISTORY_FILE = '_ingests.json';

/**
 * The accepted ingests recorded in `dir`, oldest first; none when the file does not exist.
 * @throws KeelError INVALID_STATE when the file exists but is not a valid history.
 */
export function readHistory(dir: string): IngestHistoryEntry[] {
  const path = join(dir, HISTORY_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  try {
    return z.array(entrySchema).parse(JSON.parse(text));
  } catch (err) {
    throw new KeelError('INVALID_STATE', `Ingest history ${path} is corrupt: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Appends one accepted ingest to the history in `dir`, atomically. */
export function appendHistory(dir: string, entry: IngestHistoryEntry): void {
  const entries = [...readHistory(dir), entry];
  writeFileAtomic(join(dir, HISTORY_FILE), `${JSON.stringify(entries, null, 2)}\n`);
}
