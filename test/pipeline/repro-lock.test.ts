import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireReproLock } from '../../src/pipeline/repro-lock.js';
import { makeProject } from './helpers.js';

describe('acquireReproLock', () => {
  it('refuses while a live process holds it', () => {
    const path = join(makeProject({ 'tmp/repro.pid': '' }), 'tmp', 'repro.pid');
    writeFileSync(path, String(process.ppid));
    expect(() => acquireReproLock(path)).toThrow(
      `Another repro (pid ${process.ppid}) is running in this project`,
    );
  });

  it('takes over a file left by a dead process', () => {
    const path = join(makeProject({ 'tmp/repro.pid': '999999999' }), 'tmp', 'repro.pid');
    const release = acquireReproLock(path);
    expect(existsSync(path)).toBe(true);
    release();
    expect(existsSync(path)).toBe(false);
  });
});
