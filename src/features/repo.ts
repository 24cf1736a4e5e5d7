/**
 * @module features/repo
 * A feature repo is a module (TypeScript or JavaScript) whose exports are definitions. Loading it
 * collects them and checks that they refer to each other consistently, before anything is stored.
 */
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { invalid, KeelError, notFound, shortId } from '../core/index.js';
import type { Definition, Entity, FeatureService, FeatureView, OnDemandFeatureView } from './definitions.js';

/** The definitions of one repo, by kind and name. */
export interface FeatureRepo {
  entities: Map<string, Entity>;
  featureViews: Map<string, FeatureView>;
  onDemandFeatureViews: Map<string, OnDemandFeatureView>;
  featureServices: Map<string, FeatureService>;
}

const KINDS = new Set(['entity', 'featureView', 'onDemandFeatureView', 'featureService']);

function isDefinition(value: unknown): value is Definition {
  return typeof value === 'object' && value !== null && KINDS.has((value as { kind?: string }).kind ?? '');
}

function add<T extends { name: string }>(map: Map<string, T>, def: T, kind: string): void {
  const seen = map.get(def.name);
  if (seen && seen !== def) throw invalid(`feature repo defines two different ${kind}s named '${def.name}'`);
  map.set(def.name, def);
}

/**
 * Collects and cross-checks definitions (also the entities that views use without exporting).
 * @throws KeelError INVALID_PARAMETER_VALUE for duplicate names or a reference to nothing.
 */
export function buildRepo(definitions: Iterable<unknown>): FeatureRepo {
  const repo: FeatureRepo = {
    entities: new Map(),
    featureViews: new Map(),
    onDemandFeatureViews: new Map(),
    featureServices: new Map(),
  };
  for (const def of definitions) {
    if (!isDefinition(def)) continue;
    if (def.kind === 'entity') add(repo.entities, def, 'entity');
    else if (def.kind === 'featureView') {
      add(repo.featureViews, def, 'feature view');
      for (const e of def.entities) add(repo.entities, e, 'entity');
    } else if (def.kind === 'onDemandFeatureView') add(repo.onDemandFeatureViews, def, 'on-demand view');
    else add(repo.featureServices, def, 'feature service');
  }
  const pushSources = new Map<string, string>();
  for (const view of repo.featureViews.values()) {
    if (!view.pushSource) continue;
    const batch = JSON.stringify(view.source);
    const seen = pushSources.get(view.pushSource);
    if (seen !== undefined && seen !== batch) {
      throw invalid(`feature repo defines two different push sources named '${view.pushSource}'`);
    }
    pushSources.set(view.pushSource, batch);
  }
  for (const name of repo.onDemandFeatureViews.keys()) {
    if (repo.featureViews.has(name)) throw invalid(`'${name}' is both a feature view and an on-demand view`);
  }
  for (const odfv of repo.onDemandFeatureViews.values()) {
    for (const ref of odfv.inputs) {
      const [view, feature] = ref.split(':');
      if (!repo.featureViews.get(view)?.schema[feature]) {
        throw invalid(`on-demand view ${odfv.name} reads ${ref}, which no feature view in the repo defines`);
      }
    }
  }
  for (const service of repo.featureServices.values()) {
    for (const ref of service.features) {
      const [view, feature] = ref.split(':');
      const fv = repo.featureViews.get(view) ?? repo.onDemandFeatureViews.get(view);
      if (!fv || (feature !== undefined && !fv.schema[feature])) {
        throw invalid(`feature service ${service.name} lists '${ref}', which the repo does not define`);
      }
    }
  }
  return repo;
}

/** The module type a `.ts` file gets from its nearest package.json ("module" or "commonjs"). */
function packageType(file: string): 'module' | 'commonjs' {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        return (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: string }).type === 'module'
          ? 'module'
          : 'commonjs';
      } catch {
        return 'commonjs';
      }
    }
    if (dirname(dir) === dir) return 'commonjs';
  }
}

/**
 * Imports a TypeScript repo through tsx as an ES module. Outside a `"type": "module"` package a
 * `.ts` file would be compiled to CommonJS, which cannot load Keel (an ES-module-only package), so
 * it is imported from a hidden `.mts` copy beside it (relative imports still resolve), removed after.
 */
async function importTypeScript(file: string): Promise<Record<string, unknown>> {
  const { tsImport } = await import('tsx/esm/api');
  if (!file.endsWith('.ts') || packageType(file) === 'module') {
    return (await tsImport(pathToFileURL(file).href, import.meta.url)) as Record<string, unknown>;
  }
  const copy = join(dirname(file), `.${basename(file, '.ts')}.keel-${shortId()}.mts`);
  try {
    copyFileSync(file, copy);
  } catch (err) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `feature repo ${file} is TypeScript outside a "type": "module" package and its folder is not writable for an ES module copy; rename it to .mts or add "type": "module" to its package.json`,
      { cause: err },
    );
  }
  try {
    return (await tsImport(pathToFileURL(copy).href, import.meta.url)) as Record<string, unknown>;
  } finally {
    rmSync(copy, { force: true });
  }
}

/**
 * Imports a repo module (`.ts`/`.mts` through tsx as an ES module, `.js`/`.mjs` natively) and
 * builds it from its exports.
 * @throws KeelError RESOURCE_DOES_NOT_EXIST when the file is missing, INVALID_PARAMETER_VALUE when
 * it fails to load or its definitions are inconsistent.
 */
export async function loadFeatureRepo(path: string): Promise<FeatureRepo> {
  const file = resolve(path);
  if (!existsSync(file)) throw notFound(`feature repo ${file} does not exist`);
  let mod: Record<string, unknown>;
  try {
    mod = /\.[mc]?ts$/.test(file)
      ? await importTypeScript(file)
      : ((await import(pathToFileURL(file).href)) as Record<string, unknown>);
  } catch (err) {
    if (err instanceof KeelError) throw err;
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `feature repo ${file} failed to load: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const values = Object.values(mod).flatMap((v) => (Array.isArray(v) ? v : [v]));
  const repo = buildRepo(values);
  if (repo.featureViews.size + repo.entities.size === 0) {
    throw invalid(`feature repo ${file} exports no entities or feature views`);
  }
  return repo;
}
