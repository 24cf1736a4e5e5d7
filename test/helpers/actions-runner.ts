/**
 * Runs the jobs of a GitHub Actions workflow on this machine, as far as a test needs: each `run:`
 * step through bash as GitHub runs `shell: bash` (`bash --noprofile --norc -eo pipefail`), with
 * the workflow's, the job's and the step's `env:`, `$GITHUB_OUTPUT`, `$GITHUB_PATH` and
 * `$RUNNER_TEMP`; `if:` conditions and `${{ }}` expressions over `github`, `secrets`, `vars`,
 * `env`, `steps` and `needs` (the forms a workflow here uses: paths, quoted strings, `==`, `!=`, `&&`);
 * step and job outputs. `uses:` steps are not run (the test lays out the checkout itself).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess } from './cli.js';
import { tempDir } from './temp.js';

export interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
}

export interface Job {
  needs?: string | string[];
  if?: string;
  env?: Record<string, string>;
  outputs?: Record<string, string>;
  environment?: string | { name: string; url?: string };
  steps: Step[];
}

export interface Workflow {
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

export interface Contexts {
  github: Record<string, string>;
  secrets: Record<string, string>;
  vars: Record<string, string>;
}

export interface StepRun {
  name: string;
  status: 'success' | 'failure' | 'skipped';
  stdout: string;
  stderr: string;
}

export interface JobRun {
  status: 'success' | 'failure' | 'skipped';
  outputs: Record<string, string>;
  steps: StepRun[];
}

export interface RunJobOptions {
  cwd: string;
  /** Folders put first on PATH (what `$GITHUB_PATH` would add, e.g. a `keel` on it). */
  path: string[];
  /** Steps the test does not run (installing, the project's own test suite). */
  skip?: (step: Step) => boolean;
  /** Called before each step runs: a test starts what the step expects to find (a server). */
  beforeStep?: (step: Step) => Promise<void>;
  timeoutMs?: number;
}

type Scope = Record<string, unknown>;

function lookup(path: string, scope: Scope): unknown {
  let value: unknown = scope;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return '';
    value = (value as Record<string, unknown>)[key];
  }
  return value ?? '';
}

/** One expression: `a && b`, `x == 'y'`, `x != ''`, a quoted string or a context path. */
export function evaluate(expr: string, scope: Scope): unknown {
  const text = expr.trim();
  if (text.includes('&&')) return text.split('&&').every((part) => truthy(evaluate(part, scope)));
  const comparison = /^(.+?)\s*(==|!=)\s*(.+)$/.exec(text);
  if (comparison) {
    const same = String(evaluate(comparison[1], scope)) === String(evaluate(comparison[3], scope));
    return comparison[2] === '==' ? same : !same;
  }
  const quoted = /^'(.*)'$/.exec(text);
  if (quoted) return quoted[1].replaceAll("''", "'");
  if (!/^[A-Za-z_][\w-]*(\.[\w-]+)*$/.test(text)) throw new Error(`expression not understood here: ${text}`);
  return lookup(text, scope);
}

const truthy = (v: unknown) => v !== '' && v !== false && v !== 0 && v !== undefined && v !== null;

/** A value with `${{ }}` in it, the expressions replaced by their values. */
export const interpolate = (text: string, scope: Scope): string =>
  text.replace(/\$\{\{(.+?)\}\}/g, (_, expr: string) => String(evaluate(expr, scope)));

/** An `if:` (with or without `${{ }}`). */
const condition = (text: string | undefined, scope: Scope) =>
  text === undefined ? true : truthy(evaluate(text.replace(/^\s*\$\{\{(.+)\}\}\s*$/, '$1'), scope));

const envOf = (env: Record<string, string> | undefined, scope: Scope) =>
  Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, interpolate(String(v), scope)]));

function readOutputs(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** Runs `jobId` of `workflow` given the runs of the jobs it needs. */
export async function runJob(
  workflow: Workflow,
  jobId: string,
  contexts: Contexts,
  needs: Record<string, JobRun>,
  options: RunJobOptions,
): Promise<JobRun> {
  const job = workflow.jobs[jobId];
  const needed = job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs];
  const stepsCtx: Record<string, { outputs: Record<string, string> }> = {};
  const base = (): Scope => ({ ...contexts, steps: stepsCtx, needs });
  // The env context of a step's if: and expressions is the workflow's and the job's env.
  const scope = (): Scope => ({
    ...base(),
    env: { ...envOf(workflow.env, base()), ...envOf(job.env, base()) },
  });
  if (needed.some((n) => needs[n]?.status !== 'success') || !condition(job.if, scope())) {
    return { status: 'skipped', outputs: {}, steps: [] };
  }
  const runnerTemp = tempDir('keel-runner-temp-');
  const files = join(runnerTemp, '.github');
  mkdirSync(files);
  const runs: StepRun[] = [];
  for (const [index, step] of job.steps.entries()) {
    const name = step.name ?? step.uses ?? `step ${index + 1}`;
    if (step.uses || !step.run || options.skip?.(step) || !condition(step.if, scope())) {
      runs.push({ name, status: 'skipped', stdout: '', stderr: '' });
      continue;
    }
    await options.beforeStep?.(step);
    const output = join(files, `output-${index}`);
    const pathFile = join(files, `path-${index}`);
    writeFileSync(output, '');
    writeFileSync(pathFile, '');
    const script = join(files, `step-${index}.sh`);
    writeFileSync(script, step.run);
    const env = {
      ...envOf(workflow.env, scope()),
      ...envOf(job.env, scope()),
      ...envOf(step.env, scope()),
      GITHUB_OUTPUT: output,
      GITHUB_PATH: pathFile,
      RUNNER_TEMP: runnerTemp,
      PATH: [...options.path, process.env.PATH].join(':'),
    };
    const res = await runProcess('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
      cwd: options.cwd,
      env,
      timeoutMs: options.timeoutMs,
    });
    if (step.id) stepsCtx[step.id] = { outputs: readOutputs(output) };
    runs.push({
      name,
      status: res.code === 0 ? 'success' : 'failure',
      stdout: res.stdout,
      stderr: res.stderr,
    });
    if (res.code !== 0) return { status: 'failure', outputs: {}, steps: runs };
  }
  return { status: 'success', outputs: envOf(job.outputs, scope()), steps: runs };
}
