import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dirHash, Hasher, md5File } from '../../src/pipeline/hash.js';
import { HashPool } from '../../src/pipeline/hash-pool.js';
import { makeProject } from './helpers.js';

const files = Object.fromEntries(
  Array.from({ length: 150 }, (_, i) => [`d/${i % 7}/f${i}.txt`, `row ${i}\n`.repeat(i)]),
);

describe('HashPool', () => {
  const pool = new HashPool(2);
  afterAll(() => pool.close());

  it('gives the same md5s as the main thread, in order', async () => {
    const root = makeProject(files);
    const paths = Object.keys(files).map((p) => join(root, p));
    const expected = await Promise.all(paths.map(md5File));
    expect(await pool.hashFiles(paths)).toEqual(expected);
  });

  it('answers calls made at the same time each with their own files', async () => {
    const root = makeProject(files);
    const paths = Object.keys(files).map((p) => join(root, p));
    const [a, b] = await Promise.all([pool.hashFiles(paths.slice(0, 90)), pool.hashFiles(paths.slice(90))]);
    expect([...a, ...b]).toEqual(await Promise.all(paths.map(md5File)));
  });

  it('refuses an unreadable file by name', async () => {
    await expect(pool.hashFiles(['/nonexistent/keel/f'])).rejects.toThrow(
      /Cannot hash: .*\/nonexistent\/keel\/f/,
    );
  });

  it('is what a Hasher uses for a large folder, with the same folder hash', async () => {
    const root = makeProject(files);
    const hasher = new Hasher();
    const info = await hasher.hash(join(root, 'd'));
    await hasher.close();
    const entries = await Promise.all(
      Object.keys(files).map(async (p) => ({ md5: await md5File(join(root, p)), relpath: p.slice(2) })),
    );
    expect(info.md5).toBe(dirHash(entries));
    expect(info.nfiles).toBe(150);
  });
});
