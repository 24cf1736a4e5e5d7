// biome-ignore-all lint/suspicious/noTemplateCurlyInString: dvc.yaml templating is written ${...}.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, keel as runKeel } from '../../helpers/cli.js';
import { makeProject } from '../../pipeline/helpers.js';

const repoRoot = join(import.meta.dirname, '..', '..', '..');
const nodeArgs = (args: string[]) => [CLI, ...args];

/** Runs `keel ...` as a child process from the repository root. */
const keel = (args: string[]) => runKeel(args, { cwd: repoRoot });

const waitFor = async (path: string) => {
  for (let i = 0; i < 400 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 25));
  if (!existsSync(path)) throw new Error(`${path} never appeared`);
};

// Each test starts several `keel` processes: give them room.
describe('keel pipeline commands', { timeout: 120_000 }, () => {
  it('repro, status and params diff print one JSON document with --json; dag prints Mermaid', async () => {
    const root = makeProject({
      'params.yaml': 'n: 3\n',
      'dvc.yaml': `stages:
  make:
    cmd: seq \${n} > nums.txt
    outs: [nums.txt]
  sum:
    cmd: 'echo "{\\"total\\": $(wc -l < nums.txt)}" > m.json'
    deps: [nums.txt]
    metrics:
      - m.json:
          cache: false
  count:
    cmd: wc -l < nums.txt > count.txt
    deps: [nums.txt]
    outs: [count.txt]
`,
    });
    const first = await keel(['repro', '--json', '-j', '2', '--cwd', root]);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout).stages.map((s: { status: string }) => s.status)).toEqual([
      'ran',
      'ran',
      'ran',
    ]);
    expect(JSON.parse(readFileSync(join(root, 'm.json'), 'utf8'))).toEqual({ total: 3 });
    expect(JSON.parse((await keel(['status', '--json', '--cwd', root])).stdout)).toEqual({});
    const dag = await keel(['dag', '--mermaid', '--cwd', root]);
    expect(dag.stdout).toBe(
      'flowchart TD\n\tnode1["count"]\n\tnode2["make"]\n\tnode3["sum"]\n\tnode2-->node1\n\tnode2-->node3\n',
    );
    const noGit = await keel(['params', 'diff', '--json', '--cwd', root]);
    expect(noGit.code).toBe(4);
    expect(JSON.parse(noGit.stdout).error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('a failing stage exits non-zero and prints its output; a bad dvc.yaml names file, stage and reason', async () => {
    const root = makeProject({
      'dvc.yaml': 'stages:\n  bad:\n    cmd: echo "it broke"; exit 3\n    outs: [x]\n',
    });
    const r = await keel(['repro', '--cwd', root]);
    expect(r.code).toBe(9);
    expect(r.stderr).toContain(
      'keel: failed to reproduce \'bad\': failed to run: echo "it broke"; exit 3, exited with 3',
    );
    expect(r.stderr).toContain('it broke');
    const invalid = makeProject({ 'dvc.yaml': 'stages:\n  s:\n    cmd: x\n    dpes: [a]\n' });
    const v = await keel(['repro', '--cwd', invalid]);
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(/dvc\.yaml stage 's'.*dpes/);
  });

  it('a killed repro leaves no stage running and the previous lock intact, and the next repro recovers', async () => {
    const root = makeProject({
      'params.yaml': 'v: 1\n',
      'work.sh': 'echo "$1" > out.txt\nif [ -f slow ]; then echo $$ > started; sleep 30; fi\n',
      'dvc.yaml': 'stages:\n  work:\n    cmd: sh work.sh ${v}\n    deps: [work.sh]\n    outs: [out.txt]\n',
    });
    expect((await keel(['repro', '--cwd', root])).code).toBe(0);
    const lockBefore = readFileSync(join(root, 'dvc.lock'), 'utf8');
    writeFileSync(join(root, 'params.yaml'), 'v: 2\n');
    writeFileSync(join(root, 'slow'), '');
    // Its own process group, so one SIGKILL takes keel down at once, as a crash or an OOM kill would.
    const child: ChildProcess = spawn(process.execPath, nodeArgs(['repro', '--cwd', root]), {
      cwd: repoRoot,
      detached: true,
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child.on('exit', r));
    await waitFor(join(root, 'started'));
    process.kill(-child.pid!, 'SIGKILL');
    await exited;
    // The stage runs in its own process group; its watchdog ends it once keel is gone.
    const stagePid = readFileSync(join(root, 'started'), 'utf8').trim();
    for (let i = 0; i < 200 && existsSync(`/proc/${stagePid}`); i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(existsSync(`/proc/${stagePid}`)).toBe(false);
    expect(readFileSync(join(root, 'dvc.lock'), 'utf8')).toBe(lockBefore);
    expect(existsSync(join(root, '.keel', 'tmp', 'repro.pid'))).toBe(true);

    rmSync(join(root, 'slow'));
    const again = await keel(['repro', '--json', '--cwd', root]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).stages[0].status).toBe('ran');
    expect(readFileSync(join(root, 'out.txt'), 'utf8')).toBe('2\n');
    expect(readFileSync(join(root, 'dvc.lock'), 'utf8')).toContain('cmd: sh work.sh 2');
  });

  it('a SIGTERM stops the running stage and its children, writes no lock for it, and exits non-zero', async () => {
    const root = makeProject({
      'in.txt': 'a\n',
      'dvc.yaml':
        'stages:\n  slow:\n    cmd: touch started; (sleep 1; cp in.txt out.txt) & wait\n    deps: [in.txt]\n    outs: [out.txt]\n',
    });
    const child = spawn(process.execPath, nodeArgs(['repro', '--json', '--cwd', root]), { cwd: repoRoot });
    let stdout = '';
    child.stdout!.on('data', (c) => {
      stdout += c;
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await waitFor(join(root, 'started'));
    child.kill('SIGTERM');
    expect(await exited).toBe(9);
    const report = JSON.parse(stdout);
    expect(report.error_code).toBe('EXECUTION_FAILED');
    expect(report.details.exitCode).toBe(143);
    await new Promise((r) => setTimeout(r, 1500));
    expect(existsSync(join(root, 'out.txt'))).toBe(false);
    expect(existsSync(join(root, 'dvc.lock'))).toBe(false);
  });
});
