import { createHash } from 'node:crypto';
import { statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Hasher } from '../../src/pipeline/hash.js';
import { StatCache } from '../../src/pipeline/state.js';
import { makeProject } from './helpers.js';

describe('StatCache', () => {
  it('answers from (inode, mtime, size) without reading the file, and forgets on any change', async () => {
    const root = makeProject({ 'f.txt': 'hello\n' });
    const file = join(root, 'f.txt');
    // Whole seconds, so putting the mtime back later restores it exactly.
    utimesSync(file, 1_700_000_000, 1_700_000_000);
    const state = new StatCache(join(root, '.keel', 'tmp', 'md5s.db'));
    const hasher = new Hasher(state);
    expect((await hasher.hash(file)).md5).toBe('b1946ac92492d2347c6235b4d2611184');
    state.flush();
    // Same size, same inode, mtime put back: the cache must answer with the stored hash.
    writeFileSync(file, 'HELLO\n');
    utimesSync(file, 1_700_000_000, 1_700_000_000);
    expect((await hasher.hash(file)).md5).toBe('b1946ac92492d2347c6235b4d2611184');
    // A new mtime is a miss: the file is read again.
    utimesSync(file, 1_700_000_005, 1_700_000_005);
    expect((await hasher.hash(file)).md5).toBe(createHash('md5').update('HELLO\n').digest('hex'));
    state.close();
  });

  it('persists between openings', async () => {
    const root = makeProject({ 'f.txt': 'abc' });
    const path = join(root, 's.db');
    const st = statSync(join(root, 'f.txt'));
    const key = { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size };
    const a = new StatCache(path);
    a.set(key, '900150983cd24fb0d6963f7d28e17f72');
    a.close();
    const b = new StatCache(path);
    expect(b.get(key)).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(b.get({ ...key, size: 4 })).toBeUndefined();
    b.close();
  });
});
