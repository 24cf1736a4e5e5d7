import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Hasher } from '../../src/pipeline/hash.js';
import { ObjectStore } from '../../src/pipeline/objects.js';
import { makeProject } from './helpers.js';

describe('ObjectStore', () => {
  it('stores files under md5/ab/cdef..., read-only, and a folder manifest under its .dir hash', async () => {
    const root = makeProject({
      'data/a.txt': 'hello\n',
      'data/b.csv': 'x,y\n1,2\n',
      'data/sub/c.txt': 'world\n',
    });
    const hasher = new Hasher();
    const store = new ObjectStore(join(root, 'cache/files/md5'), 'md5', hasher);
    const info = await hasher.hash(join(root, 'data'));
    store.save(join(root, 'data'), info);
    const a = join(root, 'cache/files/md5/b1/946ac92492d2347c6235b4d2611184');
    expect(readFileSync(a, 'utf8')).toBe('hello\n');
    expect(statSync(a).mode & 0o777).toBe(0o444);
    expect(readFileSync(join(root, 'cache/files/md5/7c/a065fefffbb12fd94901f8787a44ef.dir'), 'utf8')).toBe(
      '[{"md5": "b1946ac92492d2347c6235b4d2611184", "relpath": "a.txt"}, {"md5": "344fd2323dd33d5c058b7cf27de029e8", "relpath": "b.csv"}, {"md5": "591785b794601e212b260e25925636fd", "relpath": "sub/c.txt"}]',
    );
    expect(store.has(info.md5)).toBe(true);
  });

  it('does not trust an object whose bytes no longer hash to its name, and replaces it on save', async () => {
    const root = makeProject({ 'f.txt': 'hello\n' });
    const hasher = new Hasher();
    const store = new ObjectStore(join(root, 'c'), 'md5', hasher);
    expect(store.has('00000000000000000000000000000000')).toBe(false);
    const info = await hasher.hash(join(root, 'f.txt'));
    store.save(join(root, 'f.txt'), info);
    const object = store.pathOf(info.md5);
    chmodSync(object, 0o644);
    writeFileSync(object, 'garbage\n');
    expect(store.has(info.md5)).toBe(false);
    store.save(join(root, 'f.txt'), info);
    expect(readFileSync(object, 'utf8')).toBe('hello\n');
    expect(store.has(info.md5)).toBe(true);
  });
});
