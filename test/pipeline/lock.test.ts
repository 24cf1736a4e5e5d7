import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildLockEntry,
  emptyLock,
  formatLock,
  lockItems,
  lockStage,
  parseLock,
  readLock,
  setLockEntry,
  writeLock,
} from '../../src/pipeline/lock.js';
import { PyDict, PyFloat } from '../../src/pipeline/pyvalue.js';
import { makeProject } from './helpers.js';

describe('dvc.lock', () => {
  it('writes DVC 3 field order: cmd, deps, params, outs; entries sorted by path; params.yaml first', () => {
    const entry = buildLockEntry(
      'python train.py',
      [
        {
          path: 'src/train.py',
          hashName: 'md5',
          md5: '12345678901234567890123456789012',
          size: 10,
          isexec: true,
        },
        {
          path: 'data/clean',
          hashName: 'md5',
          md5: 'd8b874c5fa18c32b2d67f73606a1be60.dir',
          size: 154683,
          nfiles: 2,
        },
      ],
      new Map([
        ['b.yaml', PyDict.of({ z: 1 })],
        [
          'params.yaml',
          PyDict.of({ 'train.lr': new PyFloat(0.01), 'train.epochs': 3, 'train.one': new PyFloat(1) }),
        ],
      ]),
      [{ path: 'model.pkl', hashName: 'md5-dos2unix', md5: '2119f7661d49546288b73b5730d76485', size: 975 }],
    );
    const lock = emptyLock();
    setLockEntry(lock, 'train', entry);
    expect(formatLock(lock)).toBe(`schema: '2.0'
stages:
  train:
    cmd: python train.py
    deps:
    - path: data/clean
      hash: md5
      md5: d8b874c5fa18c32b2d67f73606a1be60.dir
      size: 154683
      nfiles: 2
    - path: src/train.py
      hash: md5
      md5: '12345678901234567890123456789012'
      size: 10
      isexec: true
    params:
      params.yaml:
        train.epochs: 3
        train.lr: 0.01
        train.one: 1.0
      b.yaml:
        z: 1
    outs:
    - path: model.pkl
      md5: 2119f7661d49546288b73b5730d76485
      size: 975
`);
  });

  it('reads a lock DVC wrote, keeping stages and fields as they are, and writes it back byte for byte', () => {
    const text = `schema: '2.0'
stages:
  prep:
    cmd:
    - python a.py
    - python b.py
    deps:
    - path: raw.csv
      md5: 0cc175b9c0f1b6a831c399e269772661
      size: 1
    outs:
    - path: run.sh
      hash: md5
      md5: 92eb5ffee6ae2fec3ad71c777531578f
      size: 1
      isexec: true
  gone:
    cmd: echo
`;
    const root = makeProject({ 'dvc.lock': text });
    const lock = readLock(join(root, 'dvc.lock'));
    expect(lockStage(lock, 'prep')?.get('cmd')).toEqual(['python a.py', 'python b.py']);
    expect(lockItems(lockStage(lock, 'prep'), 'deps')[0]).toMatchObject({
      path: 'raw.csv',
      hashName: 'md5-dos2unix',
    });
    expect(lockItems(lockStage(lock, 'prep'), 'outs')[0]).toMatchObject({ hashName: 'md5', isexec: true });
    writeLock(join(root, 'dvc.lock'), lock);
    expect(readFileSync(join(root, 'dvc.lock'), 'utf8')).toBe(text);
    expect(setLockEntry(lock, 'prep', lockStage(lock, 'prep')!)).toBe(false);
  });

  it('refuses a lock of another schema, naming the file; a missing lock reads as empty', () => {
    expect(() => parseLock("schema: '1.0'\nstages: {}\n", 'dvc.lock')).toThrow(
      /dvc\.lock: unsupported lock file schema/,
    );
    expect(readLock('/nonexistent/dvc.lock').stages.size).toBe(0);
  });
});
