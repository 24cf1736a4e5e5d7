import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLock } from '../../src/pipeline/lock.js';
import { repro } from '../../src/pipeline/repro.js';
import { pipelineStatus, stageChanges } from '../../src/pipeline/status.js';
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

const changesOf = async (root: string, name: string) => {
  const w = ws(root);
  const stage = w.project.stages.find((s) => s.name === name)!;
  return stageChanges(w, stage, readLock(w.lockPath).stages[name], true);
};

describe('change rules', () => {
  it('reports cmd, deps, params and outs changes in DVC order', async () => {
    const root = project();
    await repro(ws(root));
    expect(await changesOf(root, 'copy')).toEqual([]);
    writeFileSync(join(root, 'in.txt'), 'two\n');
    writeFileSync(join(root, 'params.yaml'), 'lr: 0.2\nlayers: [1, 2]\nnew: 1\n');
    rmSync(join(root, 'out.txt'));
    writeFileSync(
      join(root, 'dvc.yaml'),
      `stages:\n  copy:\n    cmd: cp in.txt  out.txt\n    deps: [in.txt]\n    params: [lr, layers]\n    outs: [out.txt]\n`,
    );
    expect(await changesOf(root, 'copy')).toEqual([
      { kind: 'cmd', status: 'modified' },
      { kind: 'deps', status: 'modified', path: 'in.txt' },
      { kind: 'params', status: 'modified', path: 'params.yaml', key: 'lr' },
      { kind: 'outs', status: 'deleted', path: 'out.txt' },
    ]);
  });

  it('never counts deps of a frozen stage, always counts an always_changed one or one without deps', async () => {
    const root = project(
      '  stamp:\n    cmd: date > stamp.txt\n    outs: [stamp.txt]\n  frozen:\n    cmd: cp in.txt f.txt\n    deps: [in.txt]\n    outs: [f.txt]\n    frozen: true\n',
    );
    await repro(ws(root));
    writeFileSync(join(root, 'in.txt'), 'changed\n');
    expect(await changesOf(root, 'frozen')).toEqual([]);
    expect(await changesOf(root, 'stamp')).toEqual([{ kind: 'deps', status: 'always changed' }]);
    const status = await pipelineStatus(ws(root), ws(root).dag.order);
    expect(status.map((s) => s.stage)).toEqual(['copy', 'stamp']);
  });

  it('counts a cached output whose object left the cache as changed', async () => {
    const root = project();
    const w = ws(root);
    await repro(w);
    const md5 = readLock(w.lockPath).stages.copy.outs![0].md5!;
    rmSync(w.objects.pathOf(md5), { force: true });
    expect(await changesOf(root, 'copy')).toEqual([
      { kind: 'outs', status: 'not in cache', path: 'out.txt' },
    ]);
  });

  it('tracks a whole params file with {file: null}: added keys are new', async () => {
    const root = makeProject({
      'cfg.yaml': 'a: 1\n',
      'dvc.yaml': 'stages:\n  s:\n    cmd: echo x > o\n    params:\n      - cfg.yaml:\n    outs: [o]\n',
    });
    await repro(ws(root));
    expect(readLock(join(root, 'dvc.lock')).stages.s.params).toEqual({ 'cfg.yaml': { a: 1 } });
    writeFileSync(join(root, 'cfg.yaml'), 'a: 1\nb: 2\n');
    expect(await changesOf(root, 's')).toEqual([
      { kind: 'params', status: 'new', path: 'cfg.yaml', key: 'b' },
    ]);
  });
});
