/**
 * @module registry/registry
 * The Registry facade: registered models, versions, stages, aliases, governed promotion, audit,
 * tokens and webhooks over the metadata database and the artifact store. `as(actor)` gives the
 * same registry acting for another user (the server does this per request); without it the
 * registry acts as the local OS user with admin rights.
 *
 * @example
 * const registry = await Registry.open(loadConfig());
 * await registry.models.create('churn');
 * const v = await registry.versions.create({ name: 'churn', source: 'runs:/<run_id>/model' });
 * const result = await registry.promote('churn', v.version, 'Production');
 */
import { posix } from 'node:path';
import type { ArtifactStore } from '../artifacts/index.js';
import { type Clock, type KeelConfig, KeelError, type ProgressFn, systemClock } from '../core/index.js';
import { migrate } from '../storage/index.js';
import { Tracking } from '../tracking/index.js';
import { AuditLog } from './audit.js';
import { benchmarkModel } from './benchmark.js';
import { servedModelPath } from './contents.js';
import { makeContext, type RegistryContext, upsertTag } from './context.js';
import { type DeliveryOptions, WebhookDispatcher } from './delivery.js';
import { changeArtifacts, recordMissingFiles, verifiedLocalFile, verifyFiles } from './files.js';
import { type Actor, localActor } from './identity.js';
import { aliasVersion } from './lifecycle.js';
import { latestVersions, ModelStore } from './models.js';
import { parseStage } from './names.js';
import { type Policy, parsePolicy } from './policy.js';
import { type PromoteOptions, type PromotionResult, Promotions } from './promotion.js';
import { hydrateVersions, packageOf, type VersionRow, versionDir } from './rows.js';
import { registryMigrations } from './schema.js';
import { TokenStore } from './tokens.js';
import type { BenchmarkResult, CanaryRecord, ModelPackage, ModelVersion } from './types.js';
import { parseModelUri } from './uri.js';
import { SERVING_REFUSED_TAG, VersionStore } from './versions.js';
import { WebhookStore } from './webhooks.js';

export interface RegistryOptions {
  policy?: Policy;
  clock?: Clock;
  actor?: Actor;
  delivery?: DeliveryOptions;
  /** Acting for an HTTP caller: version sources come from the artifact store only. */
  remote?: boolean;
}

export interface ResolvedModel {
  version: ModelVersion;
  package: ModelPackage;
  /** The ONNX file on local disk, ready for `InferenceSession.create`. */
  modelFile: string;
}

interface Shared {
  tracking: Tracking;
  artifacts: ArtifactStore;
  clock: Clock;
  policy: Policy;
  audit: AuditLog;
  webhooks: WebhookStore;
  dispatcher: WebhookDispatcher;
  tokens: TokenStore;
}

export class Registry {
  /** The tracking facade whose database and artifact store the registry shares. */
  readonly tracking: Tracking;
  readonly models: ModelStore;
  readonly versions: VersionStore;
  readonly promotions: Promotions;
  readonly audit: AuditLog;
  readonly webhooks: WebhookStore;
  readonly dispatcher: WebhookDispatcher;
  readonly tokens: TokenStore;
  readonly policy: Policy;
  readonly actor: Actor;
  private readonly ctx: RegistryContext;

  constructor(tracking: Tracking, options: RegistryOptions = {}, shared?: Shared) {
    const clock = options.clock ?? shared?.clock ?? systemClock;
    const db = tracking.db;
    const webhooks = shared?.webhooks ?? new WebhookStore(db, clock);
    this.shared = shared ?? {
      tracking,
      artifacts: tracking.artifacts,
      clock,
      policy: options.policy ?? parsePolicy(undefined),
      audit: new AuditLog(db),
      webhooks,
      dispatcher: new WebhookDispatcher(db, webhooks, clock, options.delivery),
      tokens: new TokenStore(db, clock),
    };
    const s = this.shared;
    this.tracking = s.tracking;
    this.actor = options.actor ?? localActor();
    this.policy = s.policy;
    this.audit = s.audit;
    this.webhooks = s.webhooks;
    this.dispatcher = s.dispatcher;
    this.tokens = s.tokens;
    this.ctx = makeContext({
      db,
      clock: s.clock,
      actor: this.actor,
      audit: s.audit,
      events: s.dispatcher,
      tracking: s.tracking,
      artifacts: s.artifacts,
      policy: s.policy,
      productionAlias: s.policy.productionAlias,
      remote: options.remote ?? false,
    });
    this.models = new ModelStore(this.ctx);
    this.versions = new VersionStore(this.ctx);
    this.promotions = new Promotions(this.ctx, this.versions, s.policy);
  }

  private readonly shared: Shared;

  /** Opens tracking (the registry shares its database and artifact store) and applies migrations. */
  static async open(config: KeelConfig, options: Omit<RegistryOptions, 'policy'> = {}): Promise<Registry> {
    const policy = parsePolicy(config.governance);
    const tracking = await Tracking.open(config, options.clock);
    const registry = new Registry(tracking, { ...options, policy });
    await registry.init();
    return registry;
  }

  /** Applies migrations, and records the files of versions registered before Keel kept them. */
  async init(): Promise<void> {
    await migrate(this.shared.tracking.db, registryMigrations);
    await recordMissingFiles(this.ctx);
  }

  /** The same registry acting as `actor`. */
  as(actor: Actor): Registry {
    return new Registry(this.shared.tracking, { actor }, this.shared);
  }

  /**
   * The registry acting for an HTTP request: as its caller (the server's own user when auth is
   * off), taking version sources from the artifact store only, never from the server's disk.
   */
  forRequest(actor?: Actor): Registry {
    return new Registry(this.shared.tracking, { actor: actor ?? this.actor, remote: true }, this.shared);
  }

  /**
   * Runs the artifact proxy's write or delete of `path` (`apply`), guarding the registry's folder:
   * see registry/files `changeArtifacts`.
   */
  changeArtifacts(method: 'put' | 'delete', path: string, apply: () => Promise<void>): Promise<void> {
    return changeArtifacts(this.ctx, method, path, apply);
  }

  /** Newest version per stage (all stages when `stages` is empty). */
  async latestVersions(name: string, stages: string[] = []): Promise<ModelVersion[]> {
    await this.models.get(name);
    return latestVersions(this.ctx.db, name, stages.map(parseStage));
  }

  /**
   * Points `alias` at `version` through the gates and approval the policy gives the alias: see
   * {@link Promotions.setAlias}. The production alias (`champion`) moves its version to Production.
   */
  setAlias(
    name: string,
    alias: string,
    version: number | string,
    options?: Omit<PromoteOptions, 'archiveExisting'>,
  ): Promise<PromotionResult> {
    return this.promotions.setAlias(name, version, alias, options);
  }

  /** Removes an alias: see {@link Promotions.deleteAlias}. */
  deleteAlias(name: string, alias: string): Promise<void> {
    return this.promotions.deleteAlias(name, alias);
  }

  /** @throws RESOURCE_DOES_NOT_EXIST when the alias is not set. */
  async getByAlias(name: string, alias: string): Promise<ModelVersion> {
    const v = await aliasVersion(this.ctx.db, name, alias);
    if (v === undefined)
      throw new KeelError(
        'RESOURCE_DOES_NOT_EXIST',
        `Registered model alias ${alias} not found on model '${name}'`,
      );
    return this.versions.get(name, v);
  }

  /**
   * Resolves `models:/name/3`, `models:/name@champion` or `models:/name/Production` to a version
   * and its local ONNX file: the one function serving calls. The version's files are checked
   * against their registered sha256, and the local file is the one checked, unless `verify` is
   * false.
   * @throws INVALID_PARAMETER_VALUE for a malformed URI; RESOURCE_DOES_NOT_EXIST when nothing
   *   matches; INVALID_STATE when the files are not what was registered.
   */
  async resolveModelUri(uri: string, options: { verify?: boolean } = {}): Promise<ResolvedModel> {
    // One read of the row serves both the MLflow view and the package.
    const row = await this.resolveRow(uri);
    const modelPath = servedModelPath(row);
    const verify = options.verify !== false;
    if (verify) await verifyFiles(this.ctx, row);
    const modelFile = verify
      ? await verifiedLocalFile(this.ctx, row, modelPath)
      : await this.shared.artifacts.localFile(modelPath);
    const [version] = await hydrateVersions(this.ctx.db, [row]);
    return { version, package: packageOf(row), modelFile };
  }

  /**
   * The local path of the input example saved beside a version's served model
   * (`input_example.json`, as `keel train` and MLflow save it), checked against its registered
   * sha256; undefined when the version has none. Serving warms a new version up on it.
   * @throws RESOURCE_DOES_NOT_EXIST for an unknown version; INVALID_STATE when the file changed.
   */
  async inputExampleFile(name: string, version: number | string): Promise<string | undefined> {
    const row = await this.versions.row(name, version);
    const path = `${posix.dirname(servedModelPath(row))}/input_example.json`;
    const recorded: Record<string, string> = row.files ? JSON.parse(row.files) : {};
    if (!(path.slice(versionDir(row).length + 1) in recorded)) return undefined;
    return verifiedLocalFile(this.ctx, row, path);
  }

  /**
   * The version `models:/...` names now, without touching its files: what serving asks at every
   * refresh, cheap on any artifact store.
   * @throws as {@link resolveModelUri}, but never for the files.
   */
  async resolveVersion(uri: string): Promise<ModelVersion> {
    const [version] = await hydrateVersions(this.ctx.db, [await this.resolveRow(uri)]);
    return version;
  }

  private async resolveRow(uri: string): Promise<VersionRow> {
    const ref = parseModelUri(uri);
    const db = this.ctx.db;
    let number: number | undefined;
    if (ref.kind === 'version') number = ref.version;
    else if (ref.kind === 'alias') {
      number = await aliasVersion(db, ref.name, ref.alias);
      if (number === undefined) {
        throw new KeelError(
          'RESOURCE_DOES_NOT_EXIST',
          `Registered model alias ${ref.alias} not found on model '${ref.name}'`,
        );
      }
    } else {
      const top = await db.get<{ v: number | null }>(
        'SELECT MAX(version) AS v FROM model_versions WHERE name = ? AND current_stage = ?',
        [ref.name, ref.stage],
      );
      if (top?.v == null) {
        throw new KeelError(
          'RESOURCE_DOES_NOT_EXIST',
          `Registered model '${ref.name}' has no version in stage ${ref.stage}`,
        );
      }
      number = Number(top.v);
    }
    return this.versions.row(ref.name, number);
  }

  /** Governed stage change: see {@link Promotions.promote}. */
  promote(name: string, version: number | string, stage: string, options?: PromoteOptions) {
    return this.promotions.promote(name, version, stage, options);
  }

  approve(requestId: number, reason?: string) {
    return this.promotions.approve(requestId, reason);
  }

  rollback(name: string, reason?: string) {
    return this.promotions.rollback(name, reason);
  }

  /** Measures the version's latency in ONNX Runtime and stores it for the latency gate. */
  async benchmark(
    name: string,
    version: number | string,
    options: { batchSize?: number; iterations?: number; onProgress?: ProgressFn } = {},
  ): Promise<BenchmarkResult> {
    this.ctx.require('write', `benchmark version ${version} of '${name}'`);
    const row = await this.versions.row(name, version);
    const modelPath = servedModelPath(row);
    await verifyFiles(this.ctx, row);
    const result = await benchmarkModel(
      await verifiedLocalFile(this.ctx, row, modelPath),
      packageOf(row).signature,
      {
        ...options,
        now: () => this.shared.clock.now(),
      },
    );
    await this.versions.setRecord(name, version, 'benchmark', result);
    return result;
  }

  /**
   * Records that a server refused to serve `version` in place of the version it serves (`from`),
   * and why: an audit entry (`serving_refused`) and the version's tag `keel.serving_refused`,
   * which `keel models show` prints. Serving calls this once per refused version.
   */
  async recordServingRefusal(
    name: string,
    version: number | string,
    refusal: { from?: string; role: string; reason: string },
  ): Promise<void> {
    await this.versions.change(name, version, 'record a serving refusal of', async (tx, v) => {
      const now = this.shared.clock.now();
      const { from, role, reason } = refusal;
      const text = `${new Date(now).toISOString()} ${role}${from === undefined ? '' : ` (serving version ${from})`}: ${reason}`;
      await upsertTag(tx, 'model_version_tags', { name, version: v }, SERVING_REFUSED_TAG, text);
      await this.ctx.audit.append(
        {
          ts: now,
          actor: this.ctx.actor.user,
          action: 'serving_refused',
          outcome: 'refused',
          name,
          version: String(v),
          ...(from === undefined ? {} : { from }),
          to: role,
          reason,
        },
        tx,
      );
    });
  }

  /** Adds canary traffic served by a version (serving calls this); returns the running totals. */
  async recordCanary(
    name: string,
    version: number | string,
    traffic: { requests: number; errors?: number },
  ): Promise<CanaryRecord> {
    if (!Number.isInteger(traffic.requests) || traffic.requests < 0) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `Canary requests must be a non-negative integer, got ${traffic.requests}`,
      );
    }
    return this.versions.change(name, version, 'record canary traffic of', async (tx, v) => {
      const row = await tx.get<{ canary: string | null }>(
        'SELECT canary FROM model_versions WHERE name = ? AND version = ?',
        [name, v],
      );
      const prev: CanaryRecord | undefined = row?.canary ? JSON.parse(row.canary) : undefined;
      const now = this.shared.clock.now();
      const next: CanaryRecord = {
        requests: (prev?.requests ?? 0) + traffic.requests,
        errors: (prev?.errors ?? 0) + (traffic.errors ?? 0),
        started_at: prev?.started_at ?? now,
        updated_at: now,
      };
      await tx.run('UPDATE model_versions SET canary = ? WHERE name = ? AND version = ?', [
        JSON.stringify(next),
        name,
        v,
      ]);
      return next;
    });
  }

  /** Waits for queued webhook deliveries, then closes the database. */
  async close(): Promise<void> {
    await this.dispatcher.flush();
    await this.shared.tracking.close();
  }
}
