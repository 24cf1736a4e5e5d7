/** A fresh folder under the OS temp dir for one test's files. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const tempDir = (prefix = 'keel-'): string => mkdtempSync(join(tmpdir(), prefix));
