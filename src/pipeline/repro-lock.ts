/**
 * @module pipeline/repro-lock
 * One repro at a time per project: `.keel/tmp/repro.pid` names the running process. A file
 * left by a killed process (its pid no longer alive) is taken over, so the next repro recovers.
 */
import { acquireFileLock, describeOwner } from '../core/index.js';

/**
 * Takes the project's repro lock; returns the function that releases it.
 * @throws KeelError FAILED_PRECONDITION when another live process holds it.
 */
export function acquireReproLock(path: string): () => void {
  return acquireFileLock(
    path,
    (owner) => `Another repro (${describeOwner(owner)}) is running in this project (${path})`,
  );
}
