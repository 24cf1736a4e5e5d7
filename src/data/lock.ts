/**
 * @module data/lock
 * One writer per dataset: a lock file held while a partition is written and the history appended,
 * so two ingests of one dataset cannot lose each other's history entry. A lock left by a process
 * that died on this host is taken over; while holding the lock, any partition temporary file in
 * the folder is a dead writer's leftover and is removed.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { acquireFileLock, describeOwner } from '../core/index.js';

const LOCK_FILE = '_ingest.lock';

/**
 * Runs `work` holding the write lock of the dataset folder `dir` (created if needed).
 * @throws KeelError FAILED_PRECONDITION when another live process holds the lock.
 */
export async function withDatasetLock<T>(dir: string, dataset: string, work: () => Promise<T>): Promise<T> {
  const path = join(dir, LOCK_FILE);
  const release = acquireFileLock(
    path,
    (owner) =>
      `Dataset '${dataset}' is being written by ${describeOwner(owner)}; retry when it finishes, or remove ${path} if that process is gone`,
  );
  try {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.part-') && name.endsWith('.tmp')) rmSync(join(dir, name), { force: true });
    }
    return await work();
  } finally {
    release();
  }
}
