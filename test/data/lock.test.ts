import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/index.js';
import { withDatasetLock } from '../../src/data/lock.js';
import { tempDir } from '../helpers/data.js';

const lockOf = (dir: string) => join(dir, '_ingest.lock');

describe('withDatasetLock', () => {
  it('holds the lock file during the work and removes it afterwards, also on failure', async () => {
    const dir = join(tempDir(), 'ds');
    await withDatasetLock(dir, 'ds', async () => {
      expect(existsSync(lockOf(dir))).toBe(true);
    });
    expect(existsSync(lockOf(dir))).toBe(false);
    await expect(
      withDatasetLock(dir, 'ds', async () => {
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a second writer while a live process holds the lock', async () => {
    const dir = join(tempDir(), 'ds');
    await withDatasetLock(dir, 'ds', async () => {
      const err = await withDatasetLock(dir, 'ds', async () => 'never').catch((e) => e);
      expect(isKeelError(err, 'FAILED_PRECONDITION')).toBe(true);
      expect((err as Error).message).toContain(
        `Dataset 'ds' is being written by process ${process.pid} on ${hostname()}`,
      );
    });
  });

  it('takes over the lock of a dead process and removes its leftover temporary partition', async () => {
    const dir = join(tempDir(), 'ds');
    mkdirSync(dir);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    writeFileSync(lockOf(dir), JSON.stringify({ pid: Number(dead.stdout), host: hostname(), at: 0 }));
    writeFileSync(join(dir, '.part-1-abcd.parquet.tmp'), 'half');
    writeFileSync(join(dir, 'part-0-keep.parquet'), 'whole');
    const result = await withDatasetLock(dir, 'ds', async () => readdirSync(dir).sort());
    expect(result).toEqual(['_ingest.lock', 'part-0-keep.parquet']);
    expect(readdirSync(dir)).toEqual(['part-0-keep.parquet']);
  });
});
