/**
 * @module features/registry
 * The feature registry: one JSON file (`<home>/features/registry.json`) written atomically. Each
 * object carries a version that is bumped whenever its definition changes; a change that would
 * break readers of a view (a removed feature, a changed type or entity) needs `force`.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeelError, writeFileAtomic } from '../core/index.js';
import type { Entity, FeatureService, FeatureView, OnDemandFeatureView, Schema } from './definitions.js';
import type { FeatureRepo } from './repo.js';

/** An on-demand view as stored: its function is kept as source text and a hash, not code. */
export type StoredOnDemandView = Omit<OnDemandFeatureView, 'transform'> & {
  transformSource: string;
  transformHash: string;
};

export interface Versioned<T> {
  spec: T;
  version: number;
  updatedAt: string;
}

export interface RegistryData {
  formatVersion: 1;
  /** The repo file last applied: on-demand transforms are loaded from it. */
  repoPath?: string;
  entities: Record<string, Versioned<Entity>>;
  featureViews: Record<string, Versioned<FeatureView>>;
  onDemandFeatureViews: Record<string, Versioned<StoredOnDemandView>>;
  featureServices: Record<string, Versioned<FeatureService>>;
}

export type RegistryKind = 'entities' | 'featureViews' | 'onDemandFeatureViews' | 'featureServices';

export interface ApplyChange {
  kind: RegistryKind;
  name: string;
  change: 'created' | 'updated' | 'deleted' | 'unchanged';
  version: number;
}

export const emptyRegistry = (): RegistryData => ({
  formatVersion: 1,
  entities: {},
  featureViews: {},
  onDemandFeatureViews: {},
  featureServices: {},
});

export const registryPath = (home: string): string => join(home, 'features', 'registry.json');

/**
 * Reads the registry; an absent file is an empty registry.
 * @throws KeelError INVALID_STATE when the file is not a registry.
 */
export function readRegistry(path: string): RegistryData {
  if (!existsSync(path)) return emptyRegistry();
  try {
    const data = JSON.parse(readFileSync(path, 'utf8')) as RegistryData;
    if (data.formatVersion !== 1) throw new Error(`unknown formatVersion ${String(data.formatVersion)}`);
    return data;
  } catch (err) {
    throw new KeelError(
      'INVALID_STATE',
      `feature registry ${path} is unreadable: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

export function storeOnDemandView(odfv: OnDemandFeatureView): StoredOnDemandView {
  const { transform, ...rest } = odfv;
  const transformSource = transform.toString();
  const transformHash = createHash('sha256').update(transformSource).digest('hex').slice(0, 16);
  return { ...rest, transformSource, transformHash };
}

/** Every way a schema change breaks readers (none when it only adds). */
function incompatibilities(before: Schema, after: Schema): string[] {
  const problems: string[] = [];
  for (const [feature, type] of Object.entries(before)) {
    if (!(feature in after)) problems.push(`feature '${feature}' was removed`);
    else if (after[feature] !== type)
      problems.push(`feature '${feature}' changed type from ${type} to ${after[feature]}`);
  }
  return problems;
}

function keysOf(view: FeatureView): string {
  return view.entities.map((e) => `${e.joinKey}:${e.valueType}`).join(',');
}

const canonical = (value: unknown): string => JSON.stringify(value);

/**
 * Merges a repo into the registry: new objects get version 1, changed ones the next version, and
 * objects the repo no longer defines are deleted. Returns the new data and what changed. Changes
 * that break readers need `force`: a removed feature, a changed type or entity, and a deleted
 * feature view or on-demand view (its clients would get 404); every one of them is reported.
 * @throws KeelError FAILED_PRECONDITION for an incompatible change without `force`.
 */
export function planApply(
  current: RegistryData,
  repo: FeatureRepo,
  options: { force?: boolean; repoPath?: string; now?: Date } = {},
): { data: RegistryData; changes: ApplyChange[] } {
  const now = (options.now ?? new Date()).toISOString();
  const data = emptyRegistry();
  data.repoPath = options.repoPath ?? current.repoPath;
  const changes: ApplyChange[] = [];
  const problems: string[] = [];

  const merge = <T>(
    kind: RegistryKind,
    incoming: Map<string, T>,
    check?: (before: T, after: T) => string[],
    deletion?: string,
  ) => {
    const before = current[kind] as Record<string, Versioned<T>>;
    const after = data[kind] as Record<string, Versioned<T>>;
    for (const [name, spec] of incoming) {
      const old = before[name];
      if (!old) {
        after[name] = { spec, version: 1, updatedAt: now };
        changes.push({ kind, name, change: 'created', version: 1 });
      } else if (canonical(old.spec) === canonical(spec)) {
        after[name] = old;
        changes.push({ kind, name, change: 'unchanged', version: old.version });
      } else {
        for (const problem of check?.(old.spec, spec) ?? []) problems.push(`${name}: ${problem}`);
        after[name] = { spec, version: old.version + 1, updatedAt: now };
        changes.push({ kind, name, change: 'updated', version: old.version + 1 });
      }
    }
    for (const [name, old] of Object.entries(before)) {
      if (incoming.has(name)) continue;
      changes.push({ kind, name, change: 'deleted', version: old.version });
      if (deletion) problems.push(`${name}: ${deletion}`);
    }
  };

  merge('entities', repo.entities, (a, b) =>
    a.valueType !== b.valueType || a.joinKey !== b.joinKey ? ['join key or its type changed'] : [],
  );
  merge(
    'featureViews',
    repo.featureViews,
    (a, b) => [
      ...(keysOf(a) !== keysOf(b) ? [`entities changed from [${keysOf(a)}] to [${keysOf(b)}]`] : []),
      ...incompatibilities(a.schema, b.schema),
    ],
    'feature view deleted (its clients would get 404; forced, its online rows are removed)',
  );
  const odfvs = new Map([...repo.onDemandFeatureViews].map(([name, v]) => [name, storeOnDemandView(v)]));
  merge(
    'onDemandFeatureViews',
    odfvs,
    (a, b) => incompatibilities(a.schema, b.schema),
    'on-demand view deleted (its clients would get 404)',
  );
  merge('featureServices', repo.featureServices);

  if (problems.length > 0 && !options.force) {
    throw new KeelError(
      'FAILED_PRECONDITION',
      `Incompatible feature changes (apply with --force to accept): ${problems.join('; ')}`,
      { details: { problems } },
    );
  }
  return { data, changes };
}

/** Writes the registry atomically. */
export function writeRegistry(path: string, data: RegistryData): void {
  writeFileAtomic(path, `${JSON.stringify(data, null, 2)}\n`);
}
