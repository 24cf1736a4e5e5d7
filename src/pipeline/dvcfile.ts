/**
 * @module pipeline/dvcfile
 * Loads `dvc.yaml` as DVC's `dvc/parsing` does: `params.yaml` and `vars` (files, `file:keys`,
 * inline mappings; a stage's own `vars` relative to its `wdir`) feed `${...}` templating of
 * every field and every mapping key, `foreach`/`matrix` expand, and zod validates each stage. The
 * refusals DVC makes (two stages writing one output, an output that is its own dependency) come
 * with the file, stage and reason. Cycles are refused when the DAG is built.
 */
import { posix } from 'node:path';
import { KeelError, parseInput } from '../core/index.js';
import { type Expanded, expandForeach, expandMatrix } from './expand.js';
import { DEFAULT_PARAMS_FILE, readParamsFile } from './params.js';
import { overlaps, rootRelative } from './paths.js';
import { type ProjectFs, workspaceFs } from './project-fs.js';
import { isDict, isList, PyDict, type PyValue, pyStr, toJs } from './pyvalue.js';
import {
  dvcFileSchema,
  type OutKind,
  type OutSpec,
  type ParamsSpec,
  PLOT_PROPS,
  type PlotSpec,
  type Project,
  type RawStage,
  type Stage,
  stageSchema,
} from './schema.js';
import { isInterpolated, TemplateContext } from './template.js';
import { parseYamlPy } from './yaml-load.js';

const STAGE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

function loadVars(
  fs: ProjectFs,
  entries: PyValue[],
  ctx: TemplateContext,
  wdir: string,
  where: string,
): TemplateContext {
  let out = ctx;
  for (const entry of entries) {
    if (isInterpolated(entry) || (isDict(entry) && [...entry.values()].some(isInterpolated))) {
      throw new KeelError('INVALID_PARAMETER_VALUE', `${where}: interpolating is not allowed in vars`);
    }
    if (isDict(entry)) {
      out = out.withVars(entry, undefined, where);
      continue;
    }
    if (typeof entry !== 'string') {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `${where}: a vars entry must be a file name or a mapping`,
      );
    }
    const colon = entry.indexOf(':');
    const file = posix.normalize(posix.join(wdir, colon < 0 ? entry : entry.slice(0, colon)));
    const keys =
      colon < 0
        ? []
        : entry
            .slice(colon + 1)
            .split(',')
            .filter(Boolean);
    const tree = readParamsFile(fs, file);
    if (!tree)
      throw new KeelError(
        'RESOURCE_DOES_NOT_EXIST',
        `${where}: failed to load vars: '${file}' does not exist`,
      );
    let picked = tree;
    if (keys.length) {
      picked = new PyDict();
      for (const k of keys) {
        if (!tree.has(k))
          throw new KeelError('INVALID_PARAMETER_VALUE', `${where}: could not find '${k}' in '${file}'`);
        picked.set(k, tree.get(k)!);
      }
    }
    out = out.withVars(picked, file, where, keys.length === 0);
  }
  return out;
}

/** Output entries of one kind, merged by path as DVC's `_merge_data` does. */
function toOuts(entries: RawStage['outs'] | RawStage['plots'], kind: OutKind): OutSpec[] {
  const merged = new Map<string, Record<string, unknown>>();
  for (const entry of entries ?? []) {
    if (typeof entry === 'string') merged.set(entry, { ...merged.get(entry) });
    else
      for (const [path, flags] of Object.entries(entry))
        merged.set(path, { ...merged.get(path), ...(flags ?? {}) });
  }
  return [...merged].map(([path, f]) => {
    const plot =
      kind === 'plots'
        ? Object.fromEntries(PLOT_PROPS.filter((p) => p in f).map((p) => [p, f[p]]))
        : undefined;
    return {
      path,
      kind,
      cache: f.cache !== false,
      persist: f.persist === true,
      ...(typeof f.desc === 'string' ? { desc: f.desc } : {}),
      ...(typeof f.type === 'string' ? { type: f.type } : {}),
      ...(Array.isArray(f.labels) ? { labels: f.labels as string[] } : {}),
      ...(f.meta !== undefined ? { meta: f.meta } : {}),
      ...(plot ? { plot } : {}),
    };
  });
}

/** Params entries merged per file (DVC's `_merge_params`): a file listed whole takes all its keys. */
function toParams(entries: RawStage['params']): ParamsSpec[] {
  const list = entries ?? [];
  const whole = new Set<string>();
  for (const e of list) {
    if (typeof e !== 'string')
      for (const [file, keys] of Object.entries(e)) if (!keys?.length) whole.add(file);
  }
  const byFile = new Map<string, string[]>();
  const add = (file: string, keys: string[]) => {
    const had = byFile.get(file) ?? [];
    byFile.set(file, whole.has(file) ? [] : [...had, ...keys.filter((k) => !had.includes(k))]);
  };
  for (const e of list) {
    if (typeof e === 'string') add(DEFAULT_PARAMS_FILE, [e]);
    else for (const [file, keys] of Object.entries(e)) add(file, keys ?? []);
  }
  return [...byFile].map(([file, keys]) => ({ file, keys }));
}

function normalise(fs: ProjectFs, e: Expanded, file: string): Stage {
  const where = `${file}: stage '${e.name}'`;
  const body = e.body;
  let ctx = e.ctx.fork();
  const rawWdir = body.get('wdir');
  const wdirValue = rawWdir === undefined ? '.' : ctx.resolve(rawWdir, `${where}.wdir`, 'wdir');
  if (typeof wdirValue !== 'string')
    throw new KeelError('INVALID_PARAMETER_VALUE', `${where}: wdir must be a path`);
  const wdir = rootRelative({ wdir: '.' }, wdirValue) || '.';
  const vars = body.get('vars');
  if (vars !== undefined) {
    if (!isList(vars)) throw new KeelError('INVALID_PARAMETER_VALUE', `${where}: vars must be a list`);
    ctx = loadVars(fs, vars, ctx, wdir === '.' ? '' : wdir, `${where}.vars`);
  }
  const resolved = new PyDict();
  for (const [key, value] of body) {
    if (key === 'vars') continue;
    resolved.set(key, ctx.resolve(value, `${where}.${pyStr(key as PyValue)}`, String(key)));
  }
  const raw = parseInput(stageSchema, toJs(resolved), `${file} stage '${e.name}'`);
  const outs = [
    ...toOuts(raw.outs, 'outs'),
    ...toOuts(raw.metrics, 'metrics'),
    ...toOuts(raw.plots, 'plots'),
  ];
  const meta = resolved.get('meta');
  return {
    name: e.name,
    cmd: raw.cmd,
    wdir,
    deps: [...new Set(raw.deps ?? [])],
    outs,
    params: toParams(raw.params),
    frozen: raw.frozen ?? false,
    alwaysChanged: raw.always_changed ?? false,
    ...(raw.desc !== undefined ? { desc: raw.desc } : {}),
    ...(meta !== undefined ? { meta } : {}),
    trackedVars: ctx.tracked,
  };
}

function expandStage(name: string, def: PyValue, ctx: TemplateContext, file: string): Expanded[] {
  const where = `${file}: stage '${name}'`;
  if (!STAGE_NAME.test(name)) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `${where}: a stage name may hold only letters, digits, '_' and '-'`,
    );
  }
  if (!isDict(def)) throw new KeelError('INVALID_PARAMETER_VALUE', `${where}: a stage must be a mapping`);
  if (def.has('foreach')) {
    const body = def.get('do');
    if (!isDict(body) || def.size !== 2) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `${where}: foreach needs a 'do' mapping and nothing else`,
      );
    }
    return expandForeach(name, def.get('foreach')!, body, ctx, where);
  }
  if (def.has('matrix')) {
    const body = new PyDict([...def].filter(([k]) => k !== 'matrix'));
    return expandMatrix(name, def.get('matrix')!, body, ctx, where);
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
  return (entries ?? []).flatMap((entry) => {
    if (typeof entry === 'string') return [{ path: entry, props: {} }];
    return Object.entries(entry as Record<string, unknown>).map(([path, props]) => ({
      path,
      props: (props ?? {}) as Record<string, unknown>,
    }));
  });
}

/** Options for {@link loadProject}. */
export interface LoadProjectOptions {
  /** The pipeline file relative to root. Default `dvc.yaml`. */
  file?: string;
  /** Where files are read from; default the workspace. */
  fs?: ProjectFs;
}

/**
 * Reads and validates a project's `dvc.yaml` (and `params.yaml` and vars files for templating).
 * @throws KeelError RESOURCE_DOES_NOT_EXIST without a dvc.yaml; INVALID_PARAMETER_VALUE naming the
 * file, the stage and the reason for anything DVC would refuse.
 */
export function loadProject(rootDir: string, options: LoadProjectOptions = {}): Project {
  const fs = options.fs ?? workspaceFs(rootDir);
  const root = fs.root;
  const file = options.file ?? 'dvc.yaml';
  const text = fs.read(file);
  if (text === undefined)
    throw new KeelError('RESOURCE_DOES_NOT_EXIST', `${posix.join(root, file)} does not exist`);
  const parsed = parseYamlPy(text, file) ?? new PyDict();
  if (!isDict(parsed)) throw new KeelError('INVALID_PARAMETER_VALUE', `${file} must hold a mapping`);
  const doc = parseInput(dvcFileSchema, toJs(parsed), file);
  let ctx = TemplateContext.empty();
  const defaults = readParamsFile(fs, DEFAULT_PARAMS_FILE);
  if (defaults) ctx = ctx.withVars(defaults, DEFAULT_PARAMS_FILE, file, true);
  const vars = parsed.get('vars');
  ctx = loadVars(fs, isList(vars) ? vars : [], ctx, '', `${file}: vars`);
  const stages: Stage[] = [];
  const seen = new Set<string>();
  const stageDefs = parsed.get('stages');
  for (const [name, def] of isDict(stageDefs) ? stageDefs : []) {
    for (const expanded of expandStage(String(name), def, ctx, file)) {
      if (seen.has(expanded.name)) {
        throw new KeelError('INVALID_PARAMETER_VALUE', `${file}: stage '${expanded.name}' is defined twice`);
      }
      seen.add(expanded.name);
      stages.push(normalise(fs, expanded, file));
    }
  }
  checkOutputs(stages, file);
  const top = (key: string) => {
    const v = parsed.get(key);
    return v === undefined ? undefined : toJs(ctx.resolve(v, `${file}: ${key}`, key));
  };
  return {
    root,
    file,
    stages,
    metrics: (top('metrics') as string[] | undefined) ?? doc.metrics ?? [],
    plots: topLevelPlots(top('plots') as unknown[] | undefined),
    params: (top('params') as string[] | undefined) ?? [],
    raw: parsed,
  };
}
