/**
 * @module cli/stage-env
 * What `keel repro` adds to its stages' environment: `keel` on the PATH (the very CLI running the
 * repro, so a stage's `keel train` is the same version and needs no global install) and the
 * Keel home, so a stage in another folder still logs to the project's stores.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { writeFileAtomic } from '../core/index.js';

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * Writes `<home>/tmp/bin/keel`, a shell script running this process's CLI with this Node, and
 * returns the environment that puts it first on the PATH.
 */
export function stageEnvironment(home: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const bin = join(home, 'tmp', 'bin');
  mkdirSync(bin, { recursive: true });
  const command = [process.execPath, ...process.execArgv, process.argv[1]].map(shellQuote).join(' ');
  const script = join(bin, 'keel');
  writeFileAtomic(script, `#!/bin/sh\nexec ${command} "$@"\n`);
  chmodSync(script, 0o755);
  return { PATH: [bin, env.PATH].filter(Boolean).join(delimiter), KEEL_HOME: env.KEEL_HOME || home };
}
