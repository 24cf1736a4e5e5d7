/**
 * @module features/refs
 * Feature references, as Feast writes them: `<view>[@vN]:<feature>`, or a feature service's name.
 * Resolution turns them into the views to read and the columns to output, in request order.
 */
import { invalid, KeelError, notFound, own } from '../core/index.js';
import type { FeatureView, ValueType } from './definitions.js';
import type { BoundOnDemand, Transform } from './on-demand.js';
import type { RegistryData } from './registry.js';

export interface ResolvedFeature {
  view: string;
  feature: string;
  type: ValueType;
  /** Output column name: `feature`, or `view__feature` with full feature names. */
  output: string;
  onDemand: boolean;
}

export interface ResolvedRefs {
  features: ResolvedFeature[];
  /** Stored views to read, with the features each must provide (ODFV inputs included). */
  views: Map<string, { view: FeatureView; features: string[] }>;
  /** On-demand views to run, each with its transform. */
  onDemand: BoundOnDemand[];
  /** Every view read (on-demand views and their inputs included) as `view@version`, for lineage. */
  lineage: string[];
}

const REF = /^([A-Za-z_][A-Za-z0-9_]*)(?:@v(\d+))?(?::([A-Za-z_][A-Za-z0-9_]*))?$/;

/** Expands a feature service name into its refs. */
export function serviceRefs(registry: RegistryData, service: string): string[] {
  const found = own(registry.featureServices, service);
  if (!found) {
    throw new KeelError('RESOURCE_DOES_NOT_EXIST', `feature service '${service}' is not registered`, {
      details: { feastError: 'FeatureServiceNotFoundException' },
    });
  }
  return [...found.spec.features];
}

/**
 * Resolves refs against the registry.
 * `transforms` holds the functions of the on-demand views (see `loadTransforms`).
 * @throws KeelError INVALID_PARAMETER_VALUE for a malformed ref, a pinned version that is not the
 * registered one, or clashing output names; RESOURCE_DOES_NOT_EXIST for an unknown view or feature;
 * INVALID_STATE for an on-demand view whose transform is not loaded.
 */
export function resolveRefs(
  registry: RegistryData,
  refs: readonly string[],
  options: { fullFeatureNames?: boolean; transforms?: ReadonlyMap<string, Transform> } = {},
): ResolvedRefs {
  const fullFeatureNames = options.fullFeatureNames ?? false;
  if (refs.length === 0) throw invalid('no features requested');
  const features: ResolvedFeature[] = [];
  const views: ResolvedRefs['views'] = new Map();
  const onDemand = new Map<string, BoundOnDemand>();
  const lineage = new Set<string>();
  const need = (view: string, feature: string) => {
    const { spec: fv, version } = registry.featureViews[view];
    lineage.add(`${view}@${version}`);
    const entry = views.get(view) ?? { view: fv, features: [] };
    if (!entry.features.includes(feature)) entry.features.push(feature);
    views.set(view, entry);
  };
  for (const ref of refs) {
    const m = REF.exec(ref.trim());
    if (!m) throw invalid(`feature reference '${ref}' is not of the form view[@vN]:feature`);
    const [, name, pinned, feature] = m;
    const stored = own(registry.featureViews, name) ?? own(registry.onDemandFeatureViews, name);
    if (!stored) {
      throw new KeelError(
        'RESOURCE_DOES_NOT_EXIST',
        `feature view '${name}' (from '${ref}') is not registered`,
        {
          details: { feastError: 'FeatureViewNotFoundException' },
        },
      );
    }
    if (pinned !== undefined && Number(pinned) !== stored.version) {
      throw invalid(`'${ref}' pins version ${pinned}, but ${name} is at version ${stored.version}`);
    }
    const schema = stored.spec.schema;
    const wanted = feature === undefined ? Object.keys(schema) : [feature];
    const isOnDemand = Object.hasOwn(registry.onDemandFeatureViews, name);
    for (const f of wanted) {
      if (!Object.hasOwn(schema, f)) throw notFound(`feature view ${name} has no feature '${f}'`);
      features.push({
        view: name,
        feature: f,
        type: schema[f],
        output: fullFeatureNames ? `${name}__${f}` : f,
        onDemand: isOnDemand,
      });
      if (!isOnDemand) need(name, f);
    }
    if (isOnDemand) {
      lineage.add(`${name}@${stored.version}`);
      const odfv = registry.onDemandFeatureViews[name].spec;
      const transform = options.transforms?.get(name);
      if (!transform)
        throw new KeelError('INVALID_STATE', `the transform of on-demand view ${name} is not loaded`);
      onDemand.set(name, { spec: odfv, transform });
      for (const input of odfv.inputs) {
        const [v, f] = input.split(':');
        if (!registry.featureViews[v])
          throw new KeelError('INVALID_STATE', `${name} reads unregistered view ${v}`);
        need(v, f);
      }
    }
  }
  const outputs = new Set<string>();
  for (const f of features) {
    if (outputs.has(f.output)) {
      throw invalid(`two requested features are both named '${f.output}'; use full feature names`);
    }
    outputs.add(f.output);
  }
  return { features, views, onDemand: [...onDemand.values()], lineage: [...lineage] };
}

/** The join keys a set of views needs, in first-seen order. */
export function joinKeysOf(views: Iterable<{ view: FeatureView }>): string[] {
  const keys: string[] = [];
  for (const { view } of views)
    for (const e of view.entities) if (!keys.includes(e.joinKey)) keys.push(e.joinKey);
  return keys;
}
