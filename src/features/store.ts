/**
 * @module features/store
 * The `FeatureStore` facade: resolves config once, opens the online store and DuckDB lazily, and
 * delegates each call in a few lines. The CLI and the feature server only call this.
 *
 * @example
 * const fs = new FeatureStore({ config: loadConfig() });
 * await fs.apply('features.ts');
 * await fs.materialize({ start: Date.parse('2011-01-01'), end: Date.parse('2011-12-09') });
 * const res = await fs.getOnlineFeatures({ features: ['customer_features:avg_order_value'], entities: { customer_id: [17850] } });
 */

import { statSync } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import {
  BoundedCache,
  type Clock,
  invalid,
  type KeelConfig,
  KeelError,
  notFound,
  own,
  systemClock,
} from '../core/index.js';
import type { FeatureView } from './definitions.js';
import type { PathContext } from './duck.js';
import type { MaterializationState, MaterializeOptions, MaterializeSummary } from './materialize.js';
import type { EntityRowsInput, HistoricalOptions, HistoricalResult } from './offline.js';
import { bindTransforms, type Transform } from './on-demand.js';
import {
  type OnlineResponse,
  readOnlineFeatures,
  readServingFeatures,
  type ServingFeatures,
} from './online.js';
import { CachedOnlineStore, type OnlineCacheStats } from './online-cache.js';
import { type OnlineStore, type OnlineStoreOptions, openOnlineStore } from './online-store.js';
import { type PushOptions, type PushSummary, preparePush, pushOnline } from './push.js';
import { type ResolvedRefs, resolveRefs, serviceRefs } from './refs.js';
import {
  type ApplyChange,
  planApply,
  type RegistryData,
  readRegistry,
  registryPath,
  writeRegistry,
} from './registry.js';
import { type FeatureRepo, loadFeatureRepo } from './repo.js';

export interface FeatureStoreOptions {
  config: Pick<KeelConfig, 'root' | 'home' | 'onlineStore'>;
  clock?: Clock;
  /** An already open online store (tests, embedding); otherwise opened from config on first use. */
  onlineStore?: OnlineStore;
  onlineStoreOptions?: OnlineStoreOptions;
  /** DuckDB threads for offline work (default: DuckDB's choice). */
  threads?: number;
}

/**
 * Which features to read: refs (`view:feature`) or a feature service's name. Given both, the
 * service wins, as in Feast's feature server.
 */
export type FeatureSelection =
  | { features: readonly string[]; featureService?: string }
  | { featureService: string; features?: readonly string[] };

export interface MaterializeRequest extends Omit<MaterializeOptions, 'eventTime'> {
  /** ms since the epoch, inclusive. */
  end: number;
  /** Views to materialize (default: every online view). */
  views?: readonly string[];
  /** Feast's `disable_event_timestamp`: stamp every row with the store clock's now. */
  disableEventTimestamp?: boolean;
}

const REGISTRY_CHECK_MS = 1000;
/** Clients choose the ref lists, so their resolutions are cached boundedly. */
const RESOLVED_CACHE_MAX = 1000;

function requireFlag(refs: ResolvedRefs, flag: 'online' | 'offline'): void {
  for (const { view } of refs.views.values()) {
    if (!view[flag]) throw invalid(`feature view ${view.name} is not ${flag} (its ${flag} flag is false)`);
  }
}

/**
 * The feature store's one entry point for the library, the CLI and the feature server. Offline
 * work (historical retrieval, materialization) runs one job at a time on a shared DuckDB
 * connection; online reads go straight to the online store.
 */
export class FeatureStore {
  private readonly ctx: PathContext;
  private readonly clock: Clock;
  private online?: Promise<OnlineStore>;
  private duck?: Promise<DuckDBConnection>;
  private offlineQueue: Promise<unknown> = Promise.resolve();
  private cached?: { data: RegistryData; mtimeMs: number; checkedAt: number };
  private resolved = new BoundedCache<string, ResolvedRefs>(RESOLVED_CACHE_MAX);
  private transforms?: Promise<Map<string, Transform>>;

  constructor(private readonly options: FeatureStoreOptions) {
    this.ctx = { root: options.config.root, home: options.config.home };
    this.clock = options.clock ?? systemClock;
    if (options.onlineStore) this.online = Promise.resolve(options.onlineStore);
  }

  /** The online store, opened on first use; a store that did not open is tried again at the next use. */
  get onlineStore(): Promise<OnlineStore> {
    if (!this.online) {
      const opening = openOnlineStore(this.options.config.onlineStore, this.options.onlineStoreOptions);
      this.online = opening;
      opening.catch(() => {
        if (this.online === opening) this.online = undefined;
      });
    }
    return this.online;
  }

  /**
   * Online reads go through an in-process cache (`onlineStore.cache` in keel.yaml: on for SQLite
   * unless false, on for Redis when given).
   */
  get cachesOnline(): boolean {
    const given = this.options.onlineStore;
    if (given) return given instanceof CachedOnlineStore;
    const { onlineStore } = this.options.config;
    return onlineStore.type === 'redis' ? onlineStore.cache !== undefined : onlineStore.cache !== false;
  }

  /** The in-process cache's figures when the online store has one (`onlineStore.cache`) and is open. */
  async onlineCacheStats(): Promise<OnlineCacheStats | undefined> {
    const store = await this.online?.catch(() => undefined);
    return store instanceof CachedOnlineStore ? store.stats() : undefined;
  }

  /**
   * Resolves when the online store answers (opening it if needed): what readiness checks.
   * @throws KeelError TEMPORARILY_UNAVAILABLE when it does not.
   */
  async pingOnline(): Promise<void> {
    await (await this.onlineStore).ping();
  }

  /** The registry as last applied; re-read at most once a second when its file changes. */
  registry(): RegistryData {
    const now = Date.now();
    if (this.cached && now - this.cached.checkedAt < REGISTRY_CHECK_MS) return this.cached.data;
    const path = registryPath(this.ctx.home);
    const mtimeMs = statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    if (!this.cached || this.cached.mtimeMs !== mtimeMs) {
      this.cached = { data: readRegistry(path), mtimeMs, checkedAt: now };
      this.resolved.clear();
      this.transforms = undefined;
    } else this.cached.checkedAt = now;
    return this.cached.data;
  }

  /**
   * Loads a repo module and registers its definitions.
   * @throws KeelError FAILED_PRECONDITION for an incompatible change without `force`.
   */
  async apply(repoPath: string, options: { force?: boolean } = {}): Promise<ApplyChange[]> {
    return this.applyRepo(await loadFeatureRepo(repoPath), { ...options, repoPath });
  }

  /**
   * Registers already loaded definitions (see `apply`). The registry is written before this
   * returns its promise; then the online rows of deleted feature views (a forced apply) are removed.
   */
  async applyRepo(
    repo: FeatureRepo,
    options: { force?: boolean; repoPath?: string } = {},
  ): Promise<ApplyChange[]> {
    const path = registryPath(this.ctx.home);
    const { data, changes } = planApply(readRegistry(path), repo, options);
    writeRegistry(path, data);
    this.cached = undefined;
    const deleted = changes.filter((c) => c.kind === 'featureViews' && c.change === 'deleted');
    if (deleted.length > 0) {
      const store = await this.onlineStore;
      for (const c of deleted) await store.deleteView(c.name);
    }
    return changes;
  }

  /**
   * A registered feature view.
   * @throws KeelError RESOURCE_DOES_NOT_EXIST when there is none by that name.
   */
  featureView(name: string): FeatureView {
    const found = own(this.registry().featureViews, name);
    if (!found) throw notFound(`feature view '${name}' is not registered`);
    return found.spec;
  }

  /** Point-in-time correct features for entity rows (see `getHistoricalFeatures` in offline). */
  async getHistoricalFeatures(
    request: FeatureSelection &
      HistoricalOptions & { entityRows: EntityRowsInput; fullFeatureNames?: boolean },
  ): Promise<HistoricalResult> {
    const refs = await this.resolve(request, request.fullFeatureNames ?? false);
    requireFlag(refs, 'offline');
    const { getHistoricalFeatures } = await import('./offline.js');
    return this.withDuck((conn) => getHistoricalFeatures(conn, this.ctx, request.entityRows, refs, request));
  }

  /**
   * Latest features for columnar entity rows, with Feast's statuses (see `readOnlineFeatures`).
   * Join key values are parsed strictly by the entity's type: int64 keys take integer numbers
   * (safe integers) or BigInts, string keys take strings.
   */
  async getOnlineFeatures(
    request: FeatureSelection & {
      entities: Readonly<Record<string, readonly unknown[]>>;
      fullFeatureNames?: boolean;
      includeFeatureViewVersionMetadata?: boolean;
    },
  ): Promise<OnlineResponse> {
    const refs = await this.resolve(request, request.fullFeatureNames ?? false);
    requireFlag(refs, 'online');
    return readOnlineFeatures(await this.onlineStore, refs, request.entities, this.clock.now(), {
      includeFeatureViewVersionMetadata: request.includeFeatureViewVersionMetadata,
    });
  }

  /**
   * The values of `getOnlineFeatures` for the `names` asked, as columns, with what each row lacked
   * (see `readServingFeatures`): what a model scores, without the Feast response around it.
   */
  async getServingFeatures(
    request: FeatureSelection & {
      entities: Readonly<Record<string, readonly unknown[]>>;
      fullFeatureNames?: boolean;
    },
    names: readonly string[],
  ): Promise<ServingFeatures> {
    const refs = await this.resolve(request, request.fullFeatureNames ?? false);
    requireFlag(refs, 'online');
    return readServingFeatures(await this.onlineStore, refs, request.entities, this.clock.now(), names);
  }

  /**
   * Entity columns typed from text (the CLI's `--entity key=value`): join keys by their entity's
   * declared type (so "00123" stays a string for a string entity, and int64 keys must be decimal
   * integers), request fields of on-demand views by their declared type; other columns stay text.
   * @throws KeelError INVALID_PARAMETER_VALUE for text that does not fit its type.
   */
  async entitiesFromText(
    selection: FeatureSelection,
    columns: Readonly<Record<string, readonly string[]>>,
  ): Promise<Record<string, unknown[]>> {
    const refs = await this.resolve(selection, false);
    const { entitiesFromText } = await import('./text.js');
    return entitiesFromText(refs, columns);
  }

  /** Per feature view, how far materialization has reached and any unfinished run. */
  async materializationState(): Promise<MaterializationState> {
    const { readState, statePath } = await import('./materialize.js');
    return readState(statePath(this.ctx.home));
  }

  /** Materializes online views over [start, end] (ms, inclusive). */
  async materialize(request: MaterializeRequest & { start: number }): Promise<MaterializeSummary[]> {
    return this.materializeEach(request, () => request.start);
  }

  /** Materializes each online view from where its last run stopped up to `end`. */
  async materializeIncremental(request: MaterializeRequest): Promise<MaterializeSummary[]> {
    const { incrementalStart } = await import('./materialize.js');
    return this.materializeEach(request, (view) => incrementalStart(this.ctx, view, request.end));
  }

  /**
   * Feast's push: columnar rows (`df`) to a push source, written to every feature view declared
   * over it: online (each row kept only if newer than the stored record), offline (one Parquet
   * file appended atomically to the push source's batch source), or both (offline first).
   * Timestamps are ISO-8601 strings, Dates, or nanoseconds since the epoch (as Feast reads numbers).
   * @throws KeelError RESOURCE_DOES_NOT_EXIST for an unknown push source; INVALID_PARAMETER_VALUE
   * for missing or unknown columns, values that do not fit, or a batch source that cannot take an
   * offline push. Nothing is written then.
   */
  async push(
    pushSource: string,
    df: Readonly<Record<string, readonly unknown[]>>,
    options: PushOptions = {},
  ): Promise<PushSummary> {
    const to = options.to ?? 'online';
    const views = Object.values(this.registry().featureViews)
      .map((v) => v.spec)
      .filter((v) => v.pushSource === pushSource);
    if (views.length === 0) {
      throw new KeelError('RESOURCE_DOES_NOT_EXIST', `push source '${pushSource}' is not registered`, {
        details: { feastError: 'PushSourceNotFoundException' },
      });
    }
    const online = views.filter((v) => v.online);
    if (to !== 'offline' && online.length === 0) {
      throw invalid(`push source ${pushSource} feeds no online feature view`);
    }
    const prepared = preparePush(pushSource, views, df, options);
    const summary: PushSummary = { pushSource, rows: prepared.n, views: [], offlineFiles: [] };
    if (to !== 'online') {
      const { appendFolder, appendOffline } = await import('./push-offline.js');
      appendFolder(pushSource, views[0].source, this.ctx);
      summary.offlineFiles.push(
        await this.withDuck((conn) => appendOffline(conn, this.ctx, pushSource, views, prepared)),
      );
    }
    if (to !== 'offline') {
      const store = await this.onlineStore;
      for (const view of online) {
        const written = await pushOnline(store, view, prepared);
        summary.views.push({ view: view.name, written, stale: prepared.n - written });
      }
    }
    return summary;
  }

  async close(): Promise<void> {
    const online = this.online;
    this.online = undefined;
    if (online && !this.options.onlineStore) await (await online.catch(() => undefined))?.close();
    const duck = this.duck;
    this.duck = undefined;
    if (duck) (await duck).closeSync();
  }

  private async materializeEach(
    request: MaterializeRequest,
    startOf: (view: FeatureView) => number,
  ): Promise<MaterializeSummary[]> {
    const registry = this.registry();
    const names =
      request.views ?? Object.keys(registry.featureViews).filter((n) => registry.featureViews[n].spec.online);
    const views = names.map((n) => this.featureView(n));
    const offlineOnly = views.find((v) => !v.online);
    if (offlineOnly)
      throw invalid(`feature view ${offlineOnly.name} is not online, so it cannot be materialized`);
    const store = await this.onlineStore;
    const { materializeView } = await import('./materialize.js');
    const summaries: MaterializeSummary[] = [];
    for (const view of views) {
      const start = startOf(view);
      if (start > request.end) continue;
      summaries.push(
        await this.withDuck((conn) =>
          materializeView(
            conn,
            this.ctx,
            store,
            view,
            { start, end: request.end },
            {
              ...request,
              eventTime: request.disableEventTimestamp ? this.clock.now() : undefined,
            },
          ),
        ),
      );
    }
    return summaries;
  }

  /** Runs offline work one job at a time on the shared DuckDB connection (loaded on first use). */
  private withDuck<T>(job: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    this.duck ??= import('./duck.js').then(({ openDuck }) => openDuck(this.options.threads));
    const run = this.offlineQueue.then(async () => job(await (this.duck as Promise<DuckDBConnection>)));
    this.offlineQueue = run.catch(() => undefined);
    return run;
  }

  private async resolve(selection: FeatureSelection, fullFeatureNames: boolean): Promise<ResolvedRefs> {
    const registry = this.registry();
    const refs = selection.featureService
      ? serviceRefs(registry, selection.featureService)
      : (selection.features ?? []);
    const key = `${fullFeatureNames}|${refs.join(',')}`;
    const hit = this.resolved.get(key);
    if (hit) return hit;
    const needsTransforms = refs.some((r) =>
      Object.hasOwn(registry.onDemandFeatureViews, /^[^:@]+/.exec(r)?.[0] ?? ''),
    );
    const transforms = needsTransforms ? await this.loadTransforms(registry) : undefined;
    const resolved = resolveRefs(registry, refs, { fullFeatureNames, transforms });
    this.resolved.set(key, resolved);
    return resolved;
  }

  private loadTransforms(registry: RegistryData): Promise<Map<string, Transform>> {
    if (!registry.repoPath) throw invalid('the registry names no repo to load on-demand transforms from');
    const path = registry.repoPath;
    this.transforms ??= loadFeatureRepo(path)
      .then((repo) => bindTransforms(registry, repo))
      .catch((err) => {
        this.transforms = undefined;
        throw err;
      });
    return this.transforms;
  }
}
