/**
 * @module core/file-lock
 * A lock file naming its owner (pid, host, time), created with O_EXCL so exactly one process holds
 * it. A lock left by a process that died on this host is taken over, so a killed writer never
 * blocks the next one; a live owner's lock is refused with a message naming it.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { KeelError } from './errors.js';

export interface LockOwner {
  pid: number;
  host: string;
  /** ms since the epoch */
  at: number;
}

function readOwner(path: string): LockOwner | undefined {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner> | null;
    if (o && Number.isInteger(o.pid) && typeof o.host === 'string' && typeof o.at === 'number')
      return o as LockOwner;
  } catch {
    // unreadable: treated as held, since its writer may still be writing it
  }
  return undefined;
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

/** `process 123 on host since 2026-...`, or `another process` when the file names no one. */
export const describeOwner = (owner: LockOwner | undefined): string =>
  owner
    ? `process ${owner.pid} on ${owner.host} since ${new Date(owner.at).toISOString()}`
    : 'another process';

/**
 * Takes the lock at `path` (its folder is created); returns the function that releases it.
 * @throws KeelError FAILED_PRECONDITION, with `busy(owner)` as the message, while a live process holds it.
 */
export function acquireFileLock(path: string, busy: (owner: LockOwner | undefined) => string): () => void {
  mkdirSync(dirname(path), { recursive: true });
  const me: LockOwner = { pid: process.pid, host: hostname(), at: Date.now() };
  if (!tryCreate(path, me)) {
    const owner = readOwner(path);
    const stale = owner !== undefined && owner.host === me.host && !isAlive(owner.pid);
    if (stale) rmSync(path, { force: true });
    // Two processes may find the same stale lock: only one of them creates the new one.
    if (!stale || !tryCreate(path, me)) throw new KeelError('FAILED_PRECONDITION', busy(owner));
  }
  return () => rmSync(path, { force: true });
}
