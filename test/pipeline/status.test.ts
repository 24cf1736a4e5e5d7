import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockItems, lockStage, readLock } from '../../src/pipeline/lock.js';
import { PyDict } from '../../src/pipeline/pyvalue.js';
import { repro } from '../../src/pipeline/repro.js';
import { pipelineStatus, stageChangeReason } from '../../src/pipeline/status.js';
import { makeProject, workspaces } from './helpers.js';

const ws = workspaces();

const project = (extra = '') =>
  makeProject({
    'in.txt': 'one\n',
    'params.yaml': 'lr: 0.1\nlayers: [1, 2]\n',
    'dvc.yaml': `stages:
  copy:
    cmd: cp in.txt out.txt
    deps: [in.txt]
    params: [lr, layers]
    outs: [out.txt]
${extra}`,
  });

const statusOf = async (root: string) => {
  const w = ws(root);
  return pipelineStatus(w, w.project.stages);
};

describe('status as DVC reports it', () => {
  it('lists deps (files, then params per key), outs and a changed command, in that order', async () => {
    const root = project();
    await repro(ws(root));
    expect(await statusOf(root)).toEqual({});
    writeFileSync(join(root, 'in.txt'), 'two\n');
    writeFileSync(join(root, 'params.yaml'), 'lr: 0.2\nlayers: [1, 2]\nnew: 1\n');
    rmSync(join(root, 'out.txt'));
    writeFileSync(
      join(root, 'dvc.yaml'),
      `stages:\n  copy:\n    cmd: cp in.txt  out.txt\n    deps: [in.txt]\n    params: [lr, layers]\n    outs: [out.txt]\n`,
    );
    expect(await statusOf(root)).toEqual({
      copy: [
        { 'changed deps': { 'in.txt': 'modified', 'params.yaml': { lr: 'modified' } } },
        { 'changed outs': { 'out.txt': 'deleted' } },
        'changed command',
      ],
    });
    const w = ws(root);
    expect(await stageChangeReason(w, w.project.stages[0], lockStage(readLock(w.lockPath), 'copy'))).toBe(
      'changed command',
    );
  });

  it('never counts deps of a frozen stage, always counts an always_changed one; a stage with outs and no deps is settled', async () => {
    const root = project(
      '  stamp:\n    cmd: date > stamp.txt\n    outs: [stamp.txt]\n  tick:\n    cmd: date > tick.txt\n    outs: [tick.txt]\n    always_changed: true\n  frozen:\n    cmd: cp in.txt f.txt\n    deps: [in.txt]\n    outs: [f.txt]\n    frozen: true\n',
    );
    // A frozen stage is only verified: its output must be there already.
    writeFileSync(join(root, 'f.txt'), 'one\n');
    await repro(ws(root));
    writeFileSync(join(root, 'in.txt'), 'changed\n');
    expect(await statusOf(root)).toEqual({
      copy: [{ 'changed deps': { 'in.txt': 'modified' } }],
      tick: ['always changed'],
    });
  });

  it('counts a cached output whose object left the cache as not in cache', async () => {
    const root = project();
    const w = ws(root);
    await repro(w);
    const md5 = lockItems(lockStage(readLock(w.lockPath), 'copy'), 'outs')[0].md5!;
    rmSync(w.objects.pathOf(md5), { force: true });
    expect(await statusOf(root)).toEqual({ copy: [{ 'changed outs': { 'out.txt': 'not in cache' } }] });
  });

  it('tracks a whole params file with {file: null}: added keys are new, and 1 equals 1.0', async () => {
    const root = makeProject({
      'cfg.yaml': 'a: 1\n',
      'dvc.yaml': 'stages:\n  s:\n    cmd: echo x > o\n    params:\n      - cfg.yaml:\n    outs: [o]\n',
    });
    await repro(ws(root));
    expect(lockStage(readLock(join(root, 'dvc.lock')), 's')?.get('params')).toEqual(
      PyDict.of({ 'cfg.yaml': PyDict.of({ a: 1 }) }),
    );
    writeFileSync(join(root, 'cfg.yaml'), 'a: 1.0\nb: 2\n');
    expect(await statusOf(root)).toEqual({ s: [{ 'changed deps': { 'cfg.yaml': { b: 'new' } } }] });
  });
});
