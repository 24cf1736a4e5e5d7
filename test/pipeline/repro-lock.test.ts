import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireReproLock } from '../../src/pipeline/repro-lock.js';
import { makeProject } from './helpers.js';

const owner = (pid: number) => JSON.stringify({ pid, host: hostname(), at: 0 });

describe('acquireReproLock', () => {
  it('refuses while a live process holds it', () => {
    const path = join(makeProject({ 'tmp/repro.pid': owner(process.ppid) }), 'tmp', 'repro.pid');
    expect(() => acquireReproLock(path)).toThrow(`Another repro (process ${process.ppid} on ${hostname()}`);
  });

  it('takes over a file left by a dead process', () => {
    const path = join(makeProject({ 'tmp/repro.pid': owner(999_999_999) }), 'tmp', 'repro.pid');
    const release = acquireReproLock(path);
    expect(existsSync(path)).toBe(true);
    release();
    expect(existsSync(path)).toBe(false);
  });
});
