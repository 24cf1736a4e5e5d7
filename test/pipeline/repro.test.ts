// biome-ignore-all lint/suspicious/noTemplateCurlyInString: dvc.yaml templating is written ${...}.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isKeelError } from '../../src/core/index.js';
import { readLock } from '../../src/pipeline/lock.js';
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
    expect(lock.stages.train.params).toEqual({
      'params.yaml': { 'train.batch_size': 16, 'train.epochs': 30, 'train.learning_rate': 0.1 },
    });
    expect(lock.stages.prepare.outs?.[0]).toMatchObject({ path: 'data/prepared', hash: 'md5', nfiles: 2 });
    expect(lock.stages.evaluate.outs?.map((o) => o.path)).toEqual([
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
    expect(third.stages[2].changes).toEqual([{ kind: 'deps', status: 'modified', path: 'model.json' }]);
    expect(readLock(join(root, 'dvc.lock')).stages.train.params?.['params.yaml']['train.epochs']).toBe(45);

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

  it('--dry decides without running or writing, counting stages after a changed one', async () => {
    const root = copyExample();
    await repro(ws(root));
    const lockBefore = readFileSync(join(root, 'dvc.lock'), 'utf8');
    writeFileSync(
      join(root, 'data/raw.csv'),
      `${readFileSync(join(root, 'data/raw.csv'), 'utf8')}0.1,0.2,1\n`,
    );
    const dry = await repro(ws(root), { dry: true });
    expect(statuses(dry)).toEqual({ prepare: 'would-run', train: 'would-run', evaluate: 'would-run' });
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

  it('a failing stage skips its dependants, keeps the lock of the stages that succeeded, and reports its output', async () => {
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
    const err = await repro(ws(root), { jobs: 2 }).catch((e: unknown) => e);
    expect(isKeelError(err, 'EXECUTION_FAILED')).toBe(true);
    const e = err as {
      message: string;
      details: { report: string; stages: Array<{ stage: string; status: string }> };
    };
    expect(e.message).toBe("Stage 'b': 'echo boom from b; exit 4' exited with code 4");
    expect(e.details.report).toContain('boom from b');
    expect(statuses({ stages: e.details.stages })).toEqual({ a: 'ran', b: 'failed', c: 'skipped', d: 'ran' });
    expect(Object.keys(readLock(join(root, 'dvc.lock')).stages).sort()).toEqual(['a', 'd']);
  });

  it('refuses a stage whose cmd does not create its output, and a missing dependency', async () => {
    const root = makeProject({
      'dvc.yaml':
        'stages:\n  a:\n    cmd: "true"\n    outs: [never.txt]\n  b:\n    cmd: cat x > y\n    deps: [x]\n    outs: [y]\n',
    });
    const err = (await repro(ws(root)).catch((e: unknown) => e)) as {
      details: { stages: Array<{ error?: string }> };
    };
    expect(err.details.stages.map((s) => s.error)).toEqual([
      "Stage 'a': its cmd did not create output 'never.txt'",
      "Stage 'b': dependency 'x' does not exist",
    ]);
  });
});

describe('wdir', () => {
  it('runs cmd in wdir, reads deps, outs and params relative to it, and tracks templated root params there', async () => {
    const root = makeProject({
      'params.yaml': 'greeting: hi\n',
      'sub/params.yaml': 'n: 3\n',
      'sub/in.txt': 'x\n',
      'dvc.yaml':
        'stages:\n  s:\n    wdir: sub\n    cmd: echo ${greeting} > out.txt && cat in.txt >> out.txt\n    deps: [in.txt]\n    params: [n]\n    outs: [out.txt]\n',
    });
    const w = ws(root);
    expect(w.project.stages[0].params).toEqual([
      { file: 'params.yaml', keys: ['n'] },
      { file: '../params.yaml', keys: ['greeting'] },
    ]);
    await repro(w);
    expect(readFileSync(join(root, 'sub/out.txt'), 'utf8')).toBe('hi\nx\n');
    const entry = readLock(join(root, 'dvc.lock')).stages.s;
    expect(entry.deps?.[0].path).toBe('in.txt');
    expect(entry.params).toEqual({ 'params.yaml': { n: 3 }, '../params.yaml': { greeting: 'hi' } });
  });
});
