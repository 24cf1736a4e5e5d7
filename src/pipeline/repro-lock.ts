/**
 * @module pipeline/repro-lock
 * One repro at a time per project: `.keel/tmp/repro.pid` holds the running process's pid. A file
 * left by a killed process (its pid no longer alive) is taken over, so the next repro recovers.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { KeelError } from '../core/index.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the project's repro lock; returns the function that releases it.
 * @throws KeelError FAILED_PRECONDITION when another live process holds it.
 */
export function acquireReproLock(path: string): () => void {
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(path, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new KeelError(
          'FAILED_PRECONDITION',
          `Another repro (pid ${pid}) is running in this project (${path})`,
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new KeelError('FAILED_PRECONDITION', `Cannot take the repro lock ${path}`);
}
