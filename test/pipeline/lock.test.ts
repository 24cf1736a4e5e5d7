import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatLock, lockOut, lockStage, parseLock, readLock, writeLock } from '../../src/pipeline/lock.js';
import { makeProject } from './helpers.js';

describe('dvc.lock', () => {
  it('writes DVC 3 field order: cmd, deps, params, outs; entries sorted by path; params.yaml first', () => {
    const entry = lockStage(
      'python train.py',
      [
        lockOut('src/train.py', { md5: '12345678901234567890123456789012', size: 10 }),
        lockOut('data/clean', { md5: 'd8b874c5fa18c32b2d67f73606a1be60.dir', size: 154683, nfiles: 2 }),
      ],
      { 'b.yaml': { z: 1 }, 'params.yaml': { 'train.lr': 0.01, 'train.epochs': 3 } },
      [lockOut('model.pkl', { md5: '2119f7661d49546288b73b5730d76485', size: 975 })],
    );
    expect(formatLock({ schema: '2.0', stages: { train: entry } })).toBe(`schema: '2.0'
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
    params:
      params.yaml:
        train.epochs: 3
        train.lr: 0.01
      b.yaml:
        z: 1
    outs:
    - path: model.pkl
      hash: md5
      md5: 2119f7661d49546288b73b5730d76485
      size: 975
`);
  });

  it('reads a lock DVC wrote, keeping fields Keel does not use, and writes it back atomically', () => {
    const root = makeProject({
      'dvc.lock': `schema: '2.0'
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
`,
    });
    const lock = readLock(join(root, 'dvc.lock'));
    expect(lock.stages.prep.cmd).toEqual(['python a.py', 'python b.py']);
    expect(lock.stages.prep.outs?.[0]).toMatchObject({ isexec: true });
    writeLock(join(root, 'dvc.lock'), lock);
    expect(readFileSync(join(root, 'dvc.lock'), 'utf8')).toContain('      isexec: true\n');
  });

  it('refuses a lock of another schema, naming the file', () => {
    expect(() => parseLock("schema: '1.0'\nstages: {}\n", 'dvc.lock')).toThrow(/Invalid dvc\.lock: schema/);
    expect(readLock('/nonexistent/dvc.lock')).toEqual({ schema: '2.0', stages: {} });
  });
});
