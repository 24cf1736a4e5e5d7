// biome-ignore-all lint/suspicious/noTemplateCurlyInString: dvc.yaml templating is written ${...}.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/index.js';
import { lockItems, lockStage, readLock } from '../../src/pipeline/lock.js';
import { PyDict, PyFloat } from '../../src/pipeline/pyvalue.js';
import { repro } from '../../src/pipeline/repro.js';
import { copyExample, makeProject, workspaces } from './helpers.js';

const ws = workspaces();

const statuses = (r: { stages: Array<{ stage: string; status: string }> }) =>
  Object.fromEntries(r.stages.map((s) => [s.stage, s.status]));

describe('repro on the seed pipeline (prepare -> train -> evaluate)', () => {
  it('runs end to end, then runs nothing, reruns only what a param change touches, and restores deleted outputs', async () => {
    const root = copyExample();
    const first = await repro(ws(root));
    expect(statuses(first)).toEqual({ prepare: 'ran', train: 'ran', evaluate: 'ran' });
    const eval1 = JSON.parse(readFileSync(join(root, 'metrics/eval.json'), 'utf8'));
    expect(eval1.auc).toBeGreaterThan(0.8);
    const lock = readLock(join(root, 'dvc.lock'));
    expect(lockStage(lock, 'train')?.get('params')).toEqual(
      PyDict.of({
        'params.yaml': PyDict.of({
          'train.batch_size': 16,
          'train.epochs': 30,
          'train.learning_rate': new PyFloat(0.1),
        }),
      }),
    );
    expect(lockItems(lockStage(lock, 'prepare'), 'outs')[0]).toMatchObject({
      path: 'data/prepared',
      hashName: 'md5',
      nfiles: 2,
    });
    expect(lockItems(lockStage(lock, 'evaluate'), 'outs').map((o) => o.path)).toEqual([
      'metrics/confusion_matrix.csv',
      'metrics/eval.json',
      'metrics/roc_curve.csv',
    ]);

    const second = await repro(ws(root));
    expect(statuses(second)).toEqual({ prepare: 'unchanged', train: 'unchanged', evaluate: 'unchanged' });

    const params = join(root, 'params.yaml');
    writeFileSync(params, readFileSync(params, 'utf8').replace('epochs: 30', 'epochs: 45'));
    const ran: string[] = [];
    const third = await repro(ws(root), { onOutput: (stage) => ran.push(stage) });
    expect(statuses(third)).toEqual({ prepare: 'unchanged', train: 'ran', evaluate: 'ran' });
    // evaluate tracks no param: it reran because its dependency model.json changed.
    expect(third.stages[2].reason).toBe('modified dep model.json');
    expect(lockStage(readLock(join(root, 'dvc.lock')), 'train')?.get('params')).toEqual(
      PyDict.of({
        'params.yaml': PyDict.of({
          'train.batch_size': 16,
          'train.epochs': 45,
          'train.learning_rate': new PyFloat(0.1),
        }),
      }),
    );

    const model = readFileSync(join(root, 'model.json'), 'utf8');
    rmSync(join(root, 'model.json'));
    rmSync(join(root, 'data/prepared'), { recursive: true });
    ran.length = 0;
    const fourth = await repro(ws(root), { onOutput: (stage) => ran.push(stage) });
    expect(statuses(fourth)).toEqual({ prepare: 'restored', train: 'restored', evaluate: 'unchanged' });
    expect(ran).toEqual([]);
    expect(readFileSync(join(root, 'model.json'), 'utf8')).toBe(model);
    expect(existsSync(join(root, 'data/prepared/train.csv'))).toBe(true);
  });

  it('--dry decides without running or writing (stages after a changed one look unchanged, as in DVC)', async () => {
    const root = copyExample();
    await repro(ws(root));
    const lockBefore = readFileSync(join(root, 'dvc.lock'), 'utf8');
    writeFileSync(
      join(root, 'data/raw.csv'),
      `${readFileSync(join(root, 'data/raw.csv'), 'utf8')}0.1,0.2,1\n`,
    );
    const dry = await repro(ws(root), { dry: true });
    expect(statuses(dry)).toEqual({ prepare: 'would-run', train: 'unchanged', evaluate: 'unchanged' });
    expect(readFileSync(join(root, 'dvc.lock'), 'utf8')).toBe(lockBefore);
    const forced = await repro(ws(root), { targets: ['prepare'], force: true });
    expect(statuses(forced)).toEqual({ prepare: 'ran' });
  });
});

describe('repro scheduling', () => {
  it('-j 2 runs independent stages at the same time', async () => {
    // Each stage waits for the other to start: it can only pass when both run at once.
    const wait = (me: string, other: string) =>
      `touch ${me}.started && i=0; while [ ! -f ${other}.started ]; do i=$((i+1)); [ $i -gt 200 ] && exit 3; sleep 0.05; done; echo ok > ${me}.out`;
    const root = makeProject({
      'dvc.yaml': `stages:\n  a:\n    cmd: ${JSON.stringify(wait('a', 'b'))}\n    outs: [a.out]\n  b:\n    cmd: ${JSON.stringify(wait('b', 'a'))}\n    outs: [b.out]\n`,
    });
    const r = await repro(ws(root), { jobs: 2 });
    expect(statuses(r)).toEqual({ a: 'ran', b: 'ran' });
  });

  it('with keepGoing a failing stage skips its dependants, the lock keeps the stages that succeeded, the output is reported', async () => {
    const root = makeProject({
      'dvc.yaml': `stages:
  a:
    cmd: echo a > a.out
    outs: [a.out]
  b:
    cmd: echo boom from b; exit 4
    deps: [a.out]
    outs: [b.out]
  c:
    cmd: cp b.out c.out
    deps: [b.out]
    outs: [c.out]
  d:
    cmd: echo d > d.out
    outs: [d.out]
`,
    });
    const err = await repro(ws(root), { jobs: 2, keepGoing: true }).catch((e: unknown) => e);
    expect(isKeelError(err, 'EXECUTION_FAILED')).toBe(true);
    const e = err as {
      message: string;
      details: { report: string; stages: Array<{ stage: string; status: string }> };
    };
    expect(e.message).toBe("failed to reproduce 'b': failed to run: echo boom from b; exit 4, exited with 4");
    expect(e.details.report).toContain('boom from b');
    expect(statuses({ stages: e.details.stages })).toEqual({ a: 'ran', b: 'failed', c: 'skipped', d: 'ran' });
    expect([...readLock(join(root, 'dvc.lock')).stages.keys()]).toEqual(['a', 'd']);
  });

  it('without keepGoing the first failure stops the repro: nothing starts after it', async () => {
    const root = makeProject({
      'dvc.yaml':
        'stages:\n  a:\n    cmd: exit 2\n    outs: [a.out]\n  b:\n    cmd: echo b > b.out\n    outs: [b.out]\n',
    });
    const err = (await repro(ws(root)).catch((e: unknown) => e)) as {
      details: { stages: Array<{ status: string }> };
    };
    expect(statuses({ stages: err.details.stages as Array<{ stage: string; status: string }> })).toEqual({
      a: 'failed',
      b: 'skipped',
    });
    expect(existsSync(join(root, 'b.out'))).toBe(false);
  });

  it('writes stages new to the lock in plan order whatever order parallel stages finish in', async () => {
    const root = makeProject({
      'dvc.yaml':
        'stages:\n  slow:\n    cmd: sleep 0.5 && echo s > s.out\n    outs: [s.out]\n  fast:\n    cmd: echo f > f.out\n    outs: [f.out]\n',
    });
    await repro(ws(root), { jobs: 2 });
    expect([...readLock(join(root, 'dvc.lock')).stages.keys()]).toEqual(['slow', 'fast']);
  });

  it('refuses a stage whose cmd does not create its output, and a missing dependency', async () => {
    const root = makeProject({
      'dvc.yaml':
        'stages:\n  a:\n    cmd: "true"\n    outs: [never.txt]\n  b:\n    cmd: cat x > y\n    deps: [x]\n    outs: [y]\n',
    });
    const err = (await repro(ws(root), { keepGoing: true }).catch((e: unknown) => e)) as {
      details: { stages: Array<{ error?: string }> };
    };
    expect(err.details.stages.map((s) => s.error)).toEqual([
      "failed to reproduce 'a': output 'never.txt' does not exist",
      "failed to reproduce 'b': dependency 'x' does not exist",
    ]);
  });
});

describe('wdir', () => {
  it('runs cmd in wdir, reads deps, outs and params relative to it; templated values are not params', async () => {
    const root = makeProject({
      'params.yaml': 'greeting: hi\n',
      'sub/params.yaml': 'n: 3\n',
      'sub/in.txt': 'x\n',
      'dvc.yaml':
        'stages:\n  s:\n    wdir: sub\n    cmd: echo ${greeting} > out.txt && cat in.txt >> out.txt\n    deps: [in.txt]\n    params: [n]\n    outs: [out.txt]\n',
    });
    const w = ws(root);
    expect(w.project.stages[0].params).toEqual([{ file: 'params.yaml', keys: ['n'] }]);
    await repro(w);
    expect(readFileSync(join(root, 'sub/out.txt'), 'utf8')).toBe('hi\nx\n');
    const entry = lockStage(readLock(join(root, 'dvc.lock')), 's');
    expect(lockItems(entry, 'deps')[0].path).toBe('in.txt');
    expect(entry?.get('params')).toEqual(PyDict.of({ 'params.yaml': PyDict.of({ n: 3 }) }));
  });
});
