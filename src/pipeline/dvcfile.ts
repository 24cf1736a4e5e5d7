/**
 * @module pipeline/dvcfile
 * Loads `dvc.yaml`: templating from `params.yaml` and `vars`, `foreach`/`matrix` expansion, zod
 * validation of every stage, and the refusals DVC makes (two stages writing one output, an output
 * that is its own dependency). Cycles are refused when the DAG is built.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { KeelError, parseInput } from '../core/index.js';
import { type Expanded, expandForeach, expandMatrix } from './expand.js';
import { DEFAULT_PARAMS_FILE, readParamsFile } from './params.js';
import { overlaps, rootRelative } from './paths.js';
import {
  dvcFileSchema,
  foreachSchema,
  type OutKind,
  type OutSpec,
  type ParamsSpec,
  type PlotSpec,
  type Project,
  type RawStage,
  type Stage,
  stageSchema,
} from './schema.js';
import { TemplateContext } from './template.js';

const STAGE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

function loadVars(root: string, entries: unknown[], ctx: TemplateContext, where: string): TemplateContext {
  let out = ctx;
  for (const entry of entries) {
    if (typeof entry !== 'string') {
      out = out.withVars(entry as Record<string, unknown>, undefined, where);
      continue;
    }
    const [file, keyList] = entry.split(':', 2);
    // params.yaml is already loaded; DVC skips it here rather than calling it a redefinition.
    if (file === DEFAULT_PARAMS_FILE && !keyList) continue;
    const tree = readParamsFile(join(root, file), file);
    if (!tree) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `${where}: vars file ${file} does not exist`);
    const keys = keyList?.split(',').map((k) => k.trim());
    const picked = keys ? Object.fromEntries(keys.map((k) => [k, tree[k]])) : tree;
    out = out.withVars(picked, file, where);
  }
  return out;
}

function toOuts(entries: RawStage['outs'] | RawStage['plots'], kind: OutKind): OutSpec[] {
  return (entries ?? []).map((entry) => {
    if (typeof entry === 'string') return { path: entry, kind, cache: true, persist: false };
    const [path, flags] = Object.entries(entry)[0];
    const f = (flags ?? {}) as Record<string, unknown>;
    const { cache, persist, desc, remote: _r, push: _p, ...plot } = f;
    return {
      path,
      kind,
      cache: cache !== false,
      persist: persist === true,
      ...(typeof desc === 'string' ? { desc } : {}),
      ...(kind === 'plots' ? { plot } : {}),
    };
  });
}

/** @param tracked root-relative params file -> keys read by templating; stored relative to wdir. */
function toParams(
  entries: RawStage['params'],
  tracked: Map<string, Set<string>>,
  wdir: string,
): ParamsSpec[] {
  const byFile = new Map<string, string[] | null>();
  const add = (file: string, keys: string[] | null) => {
    const had = byFile.get(file);
    if (had === null) return;
    byFile.set(file, keys === null ? null : [...new Set([...(had ?? []), ...keys])]);
  };
  for (const entry of entries ?? []) {
    if (typeof entry === 'string') add(DEFAULT_PARAMS_FILE, [entry]);
    else for (const [file, keys] of Object.entries(entry)) add(file, keys);
  }
  for (const [file, keys] of tracked) add(posix.relative(wdir, file), [...keys]);
  return [...byFile].map(([file, keys]) => ({ file, keys }));
}

function normalise(root: string, e: Expanded, file: string): Stage {
  const where = `${file}: stage '${e.name}'`;
  let ctx = e.ctx.fork();
  if (Array.isArray(e.body.vars))
    ctx = loadVars(root, ctx.resolve(e.body.vars, where) as unknown[], ctx, where);
  const raw = parseInput(stageSchema, ctx.resolve(e.body, where), `${file} stage '${e.name}'`);
  const wdir = rootRelative({ wdir: '.' }, raw.wdir ?? '.') || '.';
  return {
    name: e.name,
    cmd: raw.cmd,
    wdir,
    deps: raw.deps ?? [],
    outs: [...toOuts(raw.outs, 'outs'), ...toOuts(raw.metrics, 'metrics'), ...toOuts(raw.plots, 'plots')],
    params: toParams(raw.params, ctx.tracked, wdir),
    frozen: raw.frozen ?? false,
    alwaysChanged: raw.always_changed ?? false,
    ...(raw.desc !== undefined ? { desc: raw.desc } : {}),
    ...(raw.meta !== undefined ? { meta: raw.meta } : {}),
  };
}

function expandStage(
  name: string,
  def: Record<string, unknown>,
  ctx: TemplateContext,
  file: string,
): Expanded[] {
  const where = `${file}: stage '${name}'`;
  if (!STAGE_NAME.test(name)) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `${where}: a stage name may hold only letters, digits, '_' and '-'`,
    );
  }
  if ('foreach' in def) {
    const g = parseInput(foreachSchema, def, `${file} stage '${name}'`);
    return expandForeach(name, g.foreach, g.do, ctx, where);
  }
  if ('matrix' in def) {
    const { matrix, ...body } = def;
    return expandMatrix(name, matrix, body, ctx, where);
  }
  return [{ name, body: def, ctx }];
}

function checkOutputs(stages: Stage[], file: string): void {
  const owners: Array<{ path: string; stage: string }> = [];
  for (const stage of stages) {
    const outs = stage.outs.map((o) => rootRelative(stage, o.path));
    for (const dep of stage.deps.map((d) => rootRelative(stage, d))) {
      const own = outs.find((o) => overlaps(o, dep));
      if (own !== undefined) {
        throw new KeelError(
          'INVALID_PARAMETER_VALUE',
          `${file}: stage '${stage.name}': '${own}' is both an output and a dependency of the stage`,
        );
      }
    }
    for (const out of outs) {
      const clash = owners.find((o) => overlaps(o.path, out));
      if (clash) {
        const who = clash.stage === stage.name ? 'twice by this stage' : `also by stage '${clash.stage}'`;
        throw new KeelError(
          'INVALID_PARAMETER_VALUE',
          `${file}: stage '${stage.name}': output '${out}' overlaps '${clash.path}', written ${who}`,
        );
      }
      owners.push({ path: out, stage: stage.name });
    }
  }
}

function topLevelPlots(entries: unknown[] | undefined): PlotSpec[] {
  return (entries ?? []).map((entry) => {
    if (typeof entry === 'string') return { path: entry, props: {} };
    const [path, props] = Object.entries(entry as Record<string, unknown>)[0];
    return { path, props: (props ?? {}) as Record<string, unknown> };
  });
}

/** Options for {@link loadProject}. */
export interface LoadProjectOptions {
  /** The pipeline file relative to root. Default `dvc.yaml`. */
  file?: string;
}

/**
 * Reads and validates a project's `dvc.yaml` (and `params.yaml` for templating).
 * @throws KeelError RESOURCE_DOES_NOT_EXIST without a dvc.yaml; INVALID_PARAMETER_VALUE naming the
 * file, the stage and the reason for anything DVC would refuse.
 */
export function loadProject(rootDir: string, options: LoadProjectOptions = {}): Project {
  const root = resolve(rootDir);
  const file = options.file ?? 'dvc.yaml';
  const path = join(root, file);
  if (!existsSync(path)) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `${path} does not exist`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8')) ?? {};
  } catch (err) {
    throw new KeelError('INVALID_PARAMETER_VALUE', `${file} is not valid YAML: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const doc = parseInput(dvcFileSchema, raw, file);
  let ctx = TemplateContext.empty();
  const defaults = readParamsFile(join(root, DEFAULT_PARAMS_FILE), DEFAULT_PARAMS_FILE);
  if (defaults) ctx = ctx.withVars(defaults, DEFAULT_PARAMS_FILE, file);
  ctx = loadVars(root, doc.vars ?? [], ctx, file);
  const stages: Stage[] = [];
  const seen = new Set<string>();
  for (const [name, def] of Object.entries(doc.stages ?? {})) {
    for (const expanded of expandStage(name, def, ctx, file)) {
      if (seen.has(expanded.name)) {
        throw new KeelError('INVALID_PARAMETER_VALUE', `${file}: stage '${expanded.name}' is defined twice`);
      }
      seen.add(expanded.name);
      stages.push(normalise(root, expanded, file));
    }
  }
  checkOutputs(stages, file);
  return {
    root,
    file,
    stages,
    metrics: doc.metrics ?? [],
    plots: topLevelPlots(doc.plots),
    params: doc.params ?? [],
  };
}
