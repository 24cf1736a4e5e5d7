import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dirHash, Hasher, md5File } from '../../src/pipeline/hash.js';
import { StatCache } from '../../src/pipeline/state.js';
import { makeProject } from './helpers.js';

const hasMd5sum = (() => {
  try {
    execFileSync('md5sum', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('DVC 3 hashing', () => {
  it('hashes the issue test vector folder to 7ca065fe...dir, size 20, nfiles 3', async () => {
    const root = makeProject({
      'data/a.txt': 'hello\n',
      'data/b.csv': 'x,y\n1,2\n',
      'data/sub/c.txt': 'world\n',
    });
    const info = await new Hasher().hash(join(root, 'data'));
    expect(info.md5).toBe('7ca065fefffbb12fd94901f8787a44ef.dir');
    expect(info.size).toBe(20);
    expect(info.nfiles).toBe(3);
    expect(info.entries?.map((e) => e.relpath)).toEqual(['a.txt', 'b.csv', 'sub/c.txt']);
  });

  it('sorts manifest entries by relpath whatever order they come in', () => {
    const a = { md5: 'b1946ac92492d2347c6235b4d2611184', relpath: 'a.txt' };
    const c = { md5: '591785b794601e212b260e25925636fd', relpath: 'sub/c.txt' };
    const b = { md5: '344fd2323dd33d5c058b7cf27de029e8', relpath: 'b.csv' };
    expect(dirHash([c, a, b])).toBe('7ca065fefffbb12fd94901f8787a44ef.dir');
  });

  it.skipIf(!hasMd5sum)('gives the md5sum of raw bytes, CRLF and binary included', async () => {
    const root = makeProject({ 'crlf.txt': 'a\r\nb\r\n', 'empty.txt': '' });
    const bin = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < bin.length; i++) bin[i] = (i * 2654435761) >>> 24;
    writeFileSync(join(root, 'blob.bin'), bin);
    for (const name of ['crlf.txt', 'empty.txt', 'blob.bin']) {
      const expected = execFileSync('md5sum', [join(root, name)])
        .toString()
        .split(' ')[0];
      expect(await md5File(join(root, name))).toBe(expected);
    }
  });

  it('refuses a missing path with its name', async () => {
    await expect(new Hasher().hash('/nonexistent/keel/x')).rejects.toThrow(
      /\/nonexistent\/keel\/x does not exist/,
    );
  });
});

describe('folder hashing with a stat cache', () => {
  it('answers an unchanged folder from the cache and sees a changed file', async () => {
    const root = makeProject({ 'd/a.txt': 'hello\n', 'd/sub/b.txt': 'x' });
    const state = new StatCache(join(root, 'state.db'));
    const hasher = new Hasher(state);
    const first = await hasher.hash(join(root, 'd'));
    expect(first.entries).toHaveLength(2);
    const again = await hasher.hash(join(root, 'd'));
    expect(again).toEqual({ md5: first.md5, size: first.size, nfiles: 2 });
    expect((await hasher.hash(join(root, 'd'), { entries: true })).entries).toEqual(first.entries);
    writeFileSync(join(root, 'd/sub/b.txt'), 'xy');
    const changed = await hasher.hash(join(root, 'd'));
    expect(changed.md5).not.toBe(first.md5);
    expect(changed.md5).toBe((await new Hasher().hash(join(root, 'd'))).md5);
    state.close();
  });
});
