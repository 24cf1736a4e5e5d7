// biome-ignore-all lint/suspicious/noTemplateCurlyInString: dvc.yaml templating is written ${...}.
/**
 * The eight places where Keel behaved differently from DVC 3 (issue 14), each driven through the
 * built CLI on a small project, the way a user (or DVC itself) would see it.
 */
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeProject, runKeel } from './helpers.js';

const read = (root: string, path: string) => readFileSync(join(root, path), 'utf8');
const lines = (root: string, path: string) => read(root, path).trim().split('\n');

describe('Keel follows DVC 3 where it used to differ', { timeout: 120_000 }, () => {
  it('1. interpolates the keys of outs, metrics and plots mappings', async () => {
    const root = makeProject({
      'params.yaml': 'd: out\n',
      'dvc.yaml':
        'stages:\n  s:\n    cmd: mkdir -p out && echo 1 > out/a.txt && echo 1 > out/m.json\n    outs:\n      - ${d}/a.txt:\n          desc: the a file\n    metrics:\n      - ${d}/m.json:\n          cache: false\n',
    });
    const r = await runKeel(['repro'], root);
    expect(r.code, r.stderr).toBe(0);
    expect(read(root, 'dvc.lock')).toContain('- path: out/m.json\n');
  });

  it('2. an always_changed stage runs every time and a cache: false out never uses the run cache', async () => {
    const root = makeProject({
      'in.txt': 'x\n',
      'dvc.yaml':
        'stages:\n  a:\n    cmd: echo a >> runs.log && cp in.txt a.txt\n    deps: [in.txt]\n    outs: [a.txt]\n    always_changed: true\n  b:\n    cmd: echo b >> runs.log && echo bee > b.txt\n    deps: [in.txt]\n    outs:\n      - b.txt:\n          cache: false\n',
    });
    expect((await runKeel(['repro'], root)).code).toBe(0);
    rmSync(join(root, 'b.txt'));
    expect((await runKeel(['repro'], root)).code).toBe(0);
    // a ran twice (always changed), b ran again instead of coming back from the run cache.
    expect(lines(root, 'runs.log').sort()).toEqual(['a', 'a', 'b', 'b']);
  });

  it('3. a frozen stage with missing data is refused, not run: "missing data \'source\'"', async () => {
    const root = makeProject({
      'in.txt': 'x\n',
      'dvc.yaml':
        'stages:\n  cold:\n    cmd: echo ran >> runs.log && cp in.txt cold.txt\n    deps: [in.txt]\n    outs: [cold.txt]\n',
    });
    expect((await runKeel(['repro'], root)).code).toBe(0);
    writeFileSync(
      join(root, 'dvc.yaml'),
      read(root, 'dvc.yaml').replace('  cold:\n', '  cold:\n    frozen: true\n'),
    );
    rmSync(join(root, 'cold.txt'));
    const r = await runKeel(['repro'], root);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("missing data 'source': cold.txt");
    expect(lines(root, 'runs.log')).toEqual(['ran']);
  });

  it('4. a corrupted cache object is found: status says not in cache, checkout fails, repro reruns', async () => {
    const root = makeProject({
      'in.txt': 'abc\n',
      'dvc.yaml':
        'stages:\n  make:\n    cmd: cat in.txt in.txt > out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n',
    });
    expect((await runKeel(['repro'], root)).code).toBe(0);
    const object = join(root, '.keel/cache/files/md5/ac/b955a27acadc4d98b29ddf762445ea');
    chmodSync(object, 0o644);
    writeFileSync(object, 'garbage\n');
    rmSync(join(root, 'out.txt'));
    const status = await runKeel(['status', '--json'], root);
    expect(JSON.parse(status.stdout)).toEqual({ make: [{ 'changed outs': { 'out.txt': 'not in cache' } }] });
    expect((await runKeel(['checkout'], root)).code).not.toBe(0);
    expect(existsSync(join(root, 'out.txt'))).toBe(false);
    expect((await runKeel(['repro'], root)).code).toBe(0);
    expect(read(root, 'out.txt')).toBe('abc\nabc\n');
    expect(readFileSync(object, 'utf8')).toBe('abc\nabc\n');
  });

  it('5. values interpolated from vars and params.yaml are not params of the stage', async () => {
    const root = makeProject({
      'params.yaml': 'name: alpha\n',
      'vars.yaml': 'outdir: out\n',
      'dvc.yaml':
        'vars:\n  - vars.yaml\nstages:\n  s:\n    cmd: mkdir -p ${outdir} && echo ${name} > ${outdir}/x.txt\n    outs:\n      - ${outdir}/x.txt\n',
    });
    expect((await runKeel(['repro'], root)).code).toBe(0);
    expect(read(root, 'dvc.lock')).not.toContain('params:');
  });

  it('6. a stage with outs and no deps does not rerun once its outs are there', async () => {
    const root = makeProject({
      'dvc.yaml':
        'stages:\n  lonely:\n    cmd: echo ran >> runs.log && echo alone > lonely.txt\n    outs: [lonely.txt]\n',
    });
    expect((await runKeel(['repro'], root)).code).toBe(0);
    expect((await runKeel(['repro'], root)).code).toBe(0);
    expect(lines(root, 'runs.log')).toEqual(['ran']);
    expect((await runKeel(['status'], root)).stdout).toBe('Data and pipelines are up to date.\n');
  });

  it('7. checkout keeps modified outs and untracked files in directory outs unless --force', async () => {
    const root = makeProject({
      'in.txt': 'abc\n',
      'dvc.yaml':
        'stages:\n  make:\n    cmd: cp in.txt out.txt && mkdir -p outdir && cp in.txt outdir/a.txt\n    deps: [in.txt]\n    outs: [out.txt, outdir]\n',
    });
    expect((await runKeel(['repro'], root)).code).toBe(0);
    writeFileSync(join(root, 'out.txt'), 'mine\n');
    writeFileSync(join(root, 'outdir/extra.txt'), 'mine too\n');
    const refused = await runKeel(['checkout'], root);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('Use `--force` to force.');
    expect(read(root, 'out.txt')).toBe('mine\n');
    expect(readdirSync(join(root, 'outdir')).sort()).toEqual(['a.txt', 'extra.txt']);
    expect((await runKeel(['checkout', '--force'], root)).code).toBe(0);
    expect(read(root, 'out.txt')).toBe('abc\n');
    expect(readdirSync(join(root, 'outdir'))).toEqual(['a.txt']);
  });

  it('8. a DVC 2 lock (md5 without hash: md5, text hashed CRLF->LF) reads as unchanged', async () => {
    const root = makeProject({
      'crlf.txt': 'a\r\nb\r\n',
      'o.txt': 'a\nb\n',
      'dvc.yaml':
        'stages:\n  s:\n    cmd: tr -d "\\r" < crlf.txt > o.txt\n    deps: [crlf.txt]\n    outs:\n      - o.txt:\n          cache: false\n',
      'dvc.lock':
        'schema: \'2.0\'\nstages:\n  s:\n    cmd: tr -d "\\r" < crlf.txt > o.txt\n    deps:\n    - path: crlf.txt\n      md5: dd8c6a395b5dd36c56d23275028f526c\n      size: 6\n    outs:\n    - path: o.txt\n      md5: dd8c6a395b5dd36c56d23275028f526c\n      size: 4\n',
    });
    const status = await runKeel(['status', '--json'], root);
    expect(JSON.parse(status.stdout)).toEqual({});
  });
});
