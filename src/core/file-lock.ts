/**
 * @module core/file-lock
 * A lock file naming its owner (pid, host, time and a random nonce), created with O_EXCL so
 * exactly one process holds it. A lock left by a process that died on this host is taken over,
 * so a killed writer never blocks the next one; a live owner's lock is refused with a message
 * naming it.
 *
 * The takeover cannot race. Removing a stale file and creating a new one is two steps, and a
 * second process that judged the same file stale could remove the first one's new lock between
 * them. Instead, a process replaces the stale file only while it holds a claim on those exact
 * bytes, `<lock>.takeover-<hash of the stale content>`, itself an O_EXCL lock file: one process
 * per stale generation gets the claim, checks the file still holds those bytes, and renames its
 * own lock over it in one step. A claim left by a claimer that died is taken over the same way.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { KeelError } from './errors.js';

export interface LockOwner {
  pid: number;
  host: string;
  /** ms since the epoch */
  at: number;
}

interface Held extends LockOwner {
  /** Tells this holding apart from any other by the same process. */
  nonce: string;
}

/** The file's bytes as text, or undefined when it is gone. */
function readRaw(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function parseOwner(raw: string | undefined): LockOwner | undefined {
  try {
    const o = JSON.parse(raw ?? '') as Partial<LockOwner> | null;
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

function tryCreate(path: string, me: Held): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, JSON.stringify(me));
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Puts `me` in place of whatever `path` holds, in one rename. */
function replace(path: string, me: Held): void {
  const tmp = `${path}.${me.nonce}.tmp`;
  try {
    const fd = openSync(tmp, 'wx');
    try {
      writeSync(fd, JSON.stringify(me));
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Removes the lock at `path` if it is still `me`'s. */
function releaseIfMine(path: string, me: Held): void {
  let nonce: unknown;
  try {
    nonce = (JSON.parse(readRaw(path) ?? '') as Partial<Held> | null)?.nonce;
  } catch {
    return; // gone, or not a lock this process wrote
  }
  if (nonce === me.nonce) rmSync(path, { force: true });
}

type Attempt = { held: true } | { held: false; owner: LockOwner | undefined };

function tryAcquire(path: string, me: Held): Attempt {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(path, me)) return { held: true };
    const raw = readRaw(path);
    if (raw === undefined) continue; // released meanwhile: try again
    const owner = parseOwner(raw);
    const stale = owner !== undefined && owner.host === me.host && !isAlive(owner.pid);
    if (!stale) return { held: false, owner };
    const claimPath = `${path}.takeover-${createHash('sha256').update(raw).digest('hex').slice(0, 16)}`;
    const claim = tryAcquire(claimPath, me);
    // Another process is taking this generation over: the lock is as good as held.
    if (!claim.held) return { held: false, owner };
    try {
      if (readRaw(path) === raw) {
        replace(path, me);
        return { held: true };
      }
      // Taken over (or released) since we read it: look again.
    } finally {
      releaseIfMine(claimPath, me);
    }
  }
  return { held: false, owner: parseOwner(readRaw(path)) };
}

/** `process 123 on host since 2026-...`, or `another process` when the file names no one. */
export const describeOwner = (owner: LockOwner | undefined): string =>
  owner
    ? `process ${owner.pid} on ${owner.host} since ${new Date(owner.at).toISOString()}`
    : 'another process';

/**
 * Takes the lock at `path` (its folder is created); returns the function that releases it (it
 * removes the file only while it is still this holding's).
 * @throws KeelError FAILED_PRECONDITION, with `busy(owner)` as the message, while a live process holds it.
 */
export function acquireFileLock(path: string, busy: (owner: LockOwner | undefined) => string): () => void {
  mkdirSync(dirname(path), { recursive: true });
  const me: Held = {
    pid: process.pid,
    host: hostname(),
    at: Date.now(),
    nonce: randomBytes(8).toString('hex'),
  };
  const attempt = tryAcquire(path, me);
  if (!attempt.held) throw new KeelError('FAILED_PRECONDITION', busy(attempt.owner));
  return () => releaseIfMine(path, me);
}
