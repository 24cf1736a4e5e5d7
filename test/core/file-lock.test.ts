/**
 * The file lock under contention: many processes racing to take over locks left by dead
 * processes. Each lock ends with exactly one holder: never two (the old remove-then-create
 * takeover let a second process remove the first one's new lock), never none.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireFileLock } from '../../src/core/index.js';
import { tempDir } from '../helpers/temp.js';

/** A pid no process has: above Linux's largest pid_max. */
const DEAD_PID = 4_194_305;
const LOCKS = 60;
const CONTENDERS = 6;

const stale = (path: string, at = 0) =>
  writeFileSync(path, JSON.stringify({ pid: DEAD_PID, host: hostname(), at }));

describe('acquireFileLock', () => {
  it('gives each stale lock to exactly one of many processes racing to take it over', async () => {
    const dir = join(tempDir(), 'locks');
    mkdirSync(dir);
    for (let i = 0; i < LOCKS; i++) stale(join(dir, `lock-${i}`), i);
    // Late enough for every child to have started and be spinning.
    const start = Date.now() + 3000;
    const children = Array.from({ length: CONTENDERS }, () =>
      spawn(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, 'lock-child.ts'), dir, String(LOCKS), String(start)],
        {
          stdio: ['pipe', 'pipe', 'inherit'],
        },
      ),
    );
    try {
      const held = await Promise.all(
        children.map(
          (child) =>
            new Promise<number[]>((resolve, reject) => {
              let out = '';
              child.stdout.on('data', (c) => {
                out += c;
                if (out.endsWith('\n')) resolve(JSON.parse(out));
              });
              child.on('exit', (code) => reject(new Error(`contender exited ${code} before answering`)));
            }),
        ),
      );
      const holders = Array.from({ length: LOCKS }, (_, i) => held.filter((h) => h.includes(i)).length);
      expect(
        holders.filter((n) => n > 1),
        'locks held by two processes',
      ).toEqual([]);
      expect(holders.every((n) => n === 1)).toBe(true);
      // The lock file names its one holder.
      const pids = new Set(children.map((c) => c.pid));
      for (let i = 0; i < LOCKS; i++)
        expect(pids.has(JSON.parse(readFileSync(join(dir, `lock-${i}`), 'utf8')).pid)).toBe(true);
    } finally {
      for (const child of children) child.stdin.end();
    }
  }, 60_000);

  it("takes over a dead process's lock, refuses a live one's, and releases only its own", () => {
    const dir = tempDir();
    const path = join(dir, 'lock');
    stale(path);
    const release = acquireFileLock(path, () => 'busy');
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
    expect(() => acquireFileLock(path, (o) => `busy: ${o?.pid}`)).toThrow(`busy: ${process.pid}`);
    release();
    expect(existsSync(path)).toBe(false);
    // A release after someone else took the file over leaves their lock alone.
    const again = acquireFileLock(path, () => 'busy');
    writeFileSync(path, JSON.stringify({ pid: process.ppid, host: hostname(), at: 1 }));
    again();
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.ppid);
  });
});
