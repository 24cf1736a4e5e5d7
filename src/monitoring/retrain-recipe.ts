/**
 * @module monitoring/retrain-recipe
 * Running a model's training recipe as a child `keel` process in the project root: `keel train
 * --config <file>` or `keel repro [stages]`, with `--json` so its run id comes back. A child
 * keeps a long training off the event loop of a server that keeps serving, and its crash off the
 * server. The child gets the parent's stores (home, metadata database, artifacts, online store)
 * and, when this process's clock was moved (a replay), the same time through `KEEL_NOW`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Clock, type KeelConfig, KeelError, s3Url } from '../core/index.js';
import type { RetrainSpec } from './monitor-config.js';

/** How to start the `keel` CLI of this installation: the built `main.js`, or `main.ts` through tsx. */
export function keelCommand(): { file: string; args: string[] } {
  const built = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  if (existsSync(built)) return { file: process.execPath, args: [built] };
  // Running from the sources (tests, tsx): the same CLI through tsx's loader.
  const source = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
  return { file: process.execPath, args: ['--import', import.meta.resolve('tsx'), source] };
}

/** The environment that opens the parent's stores in the child. */
export function storeEnv(config: KeelConfig): Record<string, string> {
  return {
    KEEL_HOME: config.home,
    KEEL_DB: config.metadata.type === 'postgres' ? config.metadata.url : config.metadata.path,
    KEEL_ARTIFACTS: config.artifacts.type === 'local' ? config.artifacts.root : s3Url(config.artifacts),
    KEEL_ONLINE_STORE: config.onlineStore.type === 'redis' ? config.onlineStore.url : config.onlineStore.path,
    KEEL_TRACKING_URI: '',
  };
}

export interface RecipeOutcome {
  runId: string;
  /** What to register: `runs:/<id>/<file>` or a local ONNX file. */
  source: string;
}

const tail = (text: string) => text.trim().split('\n').slice(-20).join('\n');

/**
 * Runs the recipe to its end.
 * @throws KeelError EXECUTION_FAILED with the child's last output when it fails, prints no run,
 *   or outlives `spec.timeoutMs` (it is then killed).
 */
export async function runRecipe(
  spec: RetrainSpec,
  config: KeelConfig,
  clock: Clock,
  options: { signal?: AbortSignal; onStart?: (stop: () => void) => void } = {},
): Promise<RecipeOutcome> {
  const { file, args } = keelCommand();
  const recipe = spec.recipe;
  const command =
    'train' in recipe
      ? ['train', '--config', recipe.train, '--experiment', spec.experiment, '--json']
      : ['repro', ...recipe.repro.stages, '--experiment', spec.experiment, '--json'];
  const now = clock.now();
  const moved = Math.abs(now - Date.now()) > 1000;
  const child = spawn(file, [...args, ...command], {
    cwd: config.root,
    env: { ...process.env, ...storeEnv(config), ...(moved ? { KEEL_NOW: new Date(now).toISOString() } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const stop = () => child.kill('SIGTERM');
  options.onStart?.(stop);
  options.signal?.addEventListener('abort', stop, { once: true });
  const timer = setTimeout(stop, spec.timeoutMs);
  const code = await new Promise<number | null>((done, fail) => {
    child.once('error', fail);
    child.once('close', (c) => done(c));
  }).finally(() => {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', stop);
  });
  const what = `keel ${command.join(' ')}`;
  let parsed: { runId?: string; message?: string } = {};
  try {
    parsed = JSON.parse(stdout);
  } catch {}
  if (code !== 0)
    throw new KeelError(
      'EXECUTION_FAILED',
      `${what} failed (exit ${code ?? 'killed'}): ${parsed.message ?? tail(stderr || stdout)}`,
      { details: { output: tail(`${stderr}\n${stdout}`) } },
    );
  if (!parsed.runId)
    throw new KeelError(
      'EXECUTION_FAILED',
      'train' in recipe
        ? `${what} recorded no tracking run`
        : `${what} ran no stage: the pipeline's inputs did not change since its last run`,
      { details: { output: tail(stdout) } },
    );
  // keel train logs the model as MLflow logs one: `runs:/<run id>/model` names it.
  if ('train' in recipe) return { runId: parsed.runId, source: `runs:/${parsed.runId}/model` };
  const model = isAbsolute(recipe.repro.model)
    ? recipe.repro.model
    : resolve(config.root, recipe.repro.model);
  return { runId: parsed.runId, source: model };
}
