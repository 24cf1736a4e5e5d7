/**
 * @module data/lock
 * One writer per dataset: a lock file held while a partition is written and the history appended,
 * so two ingests of one dataset cannot lose each other's history entry. A lock left by a process
 * that died on this host is taken over; while holding the lock, any partition temporary file in
 * the folder is a dead writer's leftover and is removed.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { KeelError } from '../core/index.js';

const LOCK_FILE = '_ingest.lock';

interface LockOwner {
  pid: number;
  host: string;
  at: number;
}

function readOwner(path: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryCreate(path: string, owner: LockOwner): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, JSON.stringify(owner));
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Runs `work` holding the write lock of the dataset folder `dir` (created if needed).
 * @throws KeelError FAILED_PRECONDITION when another live process holds the lock.
 */
export async function withDatasetLock<T>(dir: string, dataset: string, work: () => Promise<T>): Promise<T> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, host: hostname(), at: Date.now() };
  if (!tryCreate(path, me)) {
    const owner = readOwner(path);
    const stale = owner !== undefined && owner.host === me.host && !isAlive(owner.pid);
    if (stale) rmSync(path, { force: true });
    // Two processes may find the same stale lock: only one of them creates the new one.
    if (!stale || !tryCreate(path, me)) {
      const who = owner
        ? `process ${owner.pid} on ${owner.host} since ${new Date(owner.at).toISOString()}`
        : 'another process';
      throw new KeelError(
        'FAILED_PRECONDITION',
        `Dataset '${dataset}' is being written by ${who}; retry when it finishes, or remove ${path} if that process is gone`,
      );
    }
  }
  try {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.part-') && name.endsWith('.tmp')) rmSync(join(dir, name), { force: true });
    }
    return await work();
  } finally {
    rmSync(path, { force: true });
  }
}
