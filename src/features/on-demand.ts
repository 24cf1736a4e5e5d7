/**
 * @module features/on-demand
 * On-demand feature views run the same function over the same kind of row at training
 * (historical retrieval) and at serving (online reads). The registry keeps only a hash of each
 * function; the code itself comes from the applied repo, and a mismatch is refused.
 */
import { invalid, KeelError } from '../core/index.js';
import { type FeatureValue, fitsType, type OnDemandFeatureView } from './definitions.js';
import { type RegistryData, type StoredOnDemandView, storeOnDemandView } from './registry.js';
import type { FeatureRepo } from './repo.js';

export type Transform = OnDemandFeatureView['transform'];

export interface BoundOnDemand {
  spec: StoredOnDemandView;
  transform: Transform;
}

/**
 * Takes the transforms of the registry's on-demand views from a loaded repo.
 * @throws KeelError FAILED_PRECONDITION when a view is missing from the repo or its code changed
 * since `keel features apply`.
 */
export function bindTransforms(registry: RegistryData, repo: FeatureRepo): Map<string, Transform> {
  const transforms = new Map<string, Transform>();
  for (const [name, { spec }] of Object.entries(registry.onDemandFeatureViews)) {
    const current = repo.onDemandFeatureViews.get(name);
    if (!current || storeOnDemandView(current).transformHash !== spec.transformHash) {
      throw new KeelError(
        'FAILED_PRECONDITION',
        `on-demand view ${name} in ${registry.repoPath ?? 'the repo'} differs from the registered one; run keel features apply`,
      );
    }
    transforms.set(name, current.transform);
  }
  return transforms;
}

/**
 * Runs on-demand views over one row: request fields come from `request`, stored inputs from
 * `input(view, feature)`. Returns each view's outputs by name.
 * @throws KeelError INVALID_PARAMETER_VALUE when a transform throws or returns a wrongly typed value.
 */
export function applyOnDemand(
  views: readonly BoundOnDemand[],
  request: Readonly<Record<string, unknown>>,
  input: (view: string, feature: string) => FeatureValue,
): Map<string, Record<string, FeatureValue>> {
  const results = new Map<string, Record<string, FeatureValue>>();
  for (const { spec, transform } of views) {
    const row: Record<string, FeatureValue> = {};
    for (const field of Object.keys(spec.request))
      row[field] = (request[field] as FeatureValue | undefined) ?? null;
    for (const ref of spec.inputs) {
      const [view, feature] = ref.split(':');
      row[feature] = input(view, feature);
    }
    let out: Record<string, FeatureValue>;
    try {
      out = transform(row);
    } catch (err) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `on-demand view ${spec.name} failed: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    const checked: Record<string, FeatureValue> = {};
    for (const [feature, type] of Object.entries(spec.schema)) {
      const value = out?.[feature] ?? null;
      if (!fitsType(type, value)) {
        throw invalid(
          `on-demand view ${spec.name} returned ${JSON.stringify(value)} for ${feature}, declared ${type}`,
        );
      }
      checked[feature] = value;
    }
    results.set(spec.name, checked);
  }
  return results;
}
