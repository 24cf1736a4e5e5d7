/**
 * @module monitoring/monitoring
 * The Monitoring facade: reference profiles of registered versions, and monitor runs over windows
 * of the prediction log, stored in the registry's database. The CLI and the server only call it.
 *
 * @example
 * const monitoring = await Monitoring.open(loadConfig());
 * const report = await monitoring.run('churn', { windowMs: 2 * 3_600_000 });
 * console.log(report.breaches);
 * await monitoring.close();
 */
import { rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type Clock,
  isKeelError,
  type KeelConfig,
  type Logger,
  silentLogger,
  systemClock,
} from '../core/index.js';
import { Registry } from '../registry/index.js';
import { migrate } from '../storage/index.js';
import { AlertNotifier, alertSettings, notificationTargets } from './alert-delivery.js';
import { type AlertChanges, AlertStore } from './alerts.js';
import {
  type MonitoringSettings,
  type MonitorSpec,
  monitorFor,
  monitoringSettings,
} from './monitor-config.js';
import type { MonitorReport } from './monitor-report.js';
import { type Reference, runMonitor } from './monitor-run.js';
import { MonitorRunStore } from './monitor-runs.js';
import { predictionsDir } from './prediction-files.js';
import type { ReferenceProfile } from './profile.js';
import { ProfileStore } from './profile-store.js';
import { reportTrigger } from './retrain-triggers.js';
import { Retrainer } from './retrainer.js';
import { type RetrainCause, type Retraining, RetrainingStore } from './retrainings.js';
import { monitoringMigrations } from './schema.js';
import { buildVersionProfile, profileVersion } from './version-profile.js';

export interface RunOptions {
  /** The window's length (default the monitor's, or 1h). */
  windowMs?: number;
  /** The window ends here (ms; default now). */
  asOf?: number;
  /** What started the run, stored with it (default `manual`). */
  cause?: string;
  /** Send the notifications due right after (default true; a scheduler sends them on its own loop). */
  deliver?: boolean;
  /**
   * Start the retraining a drift or performance trigger calls for: and wait for it (`await`, the
   * default), or let it run on (`background`, as the scheduler does); `false` checks no trigger.
   */
  retrain?: 'await' | 'background' | false;
}

/** A stored run, what it changed in the alerts, and the retraining it triggered. */
export type MonitorResult = MonitorReport & { alerts: AlertChanges; retraining?: Retraining };

export interface MonitoringOptions {
  clock?: Clock;
  /** Where the `log` alert destination writes, and delivery failures are reported. */
  logger?: Logger;
}

export class Monitoring {
  readonly profiles: ProfileStore;
  readonly runs: MonitorRunStore;
  readonly alerts: AlertStore;
  readonly notifier: AlertNotifier;
  readonly retrainings: RetrainingStore;
  readonly retrainer: Retrainer;
  readonly clock: Clock;
  /** `monitoring` of keel.yaml, validated. */
  readonly settings: MonitoringSettings;
  /** Profiles of reference datasets, by model, version, file and its mtime. */
  private readonly datasetProfiles = new Map<string, Promise<ReferenceProfile>>();

  constructor(
    readonly config: KeelConfig,
    readonly registry: Registry,
    options: MonitoringOptions = {},
    private readonly ownsRegistry = false,
  ) {
    this.clock = options.clock ?? systemClock;
    this.settings = monitoringSettings(config.monitoring);
    this.profiles = new ProfileStore(registry.tracking.db);
    this.runs = new MonitorRunStore(registry.tracking.db);
    this.alerts = new AlertStore(registry.tracking.db, this.clock);
    this.notifier = new AlertNotifier(
      registry.tracking.db,
      this.clock,
      alertSettings(config.monitoring?.alerts),
      options.logger ?? silentLogger,
    );
    this.retrainings = new RetrainingStore(registry.tracking.db, this.clock);
    this.retrainer = new Retrainer({
      config,
      registry,
      store: this.retrainings,
      clock: this.clock,
      logger: options.logger ?? silentLogger,
      profile: async (model, version) => (await this.profileIfData(model, version)) !== undefined,
    });
  }

  /** Opens the registry of `config` (or uses the one given) and applies monitoring's migrations. */
  static async open(
    config: KeelConfig,
    options: MonitoringOptions & { registry?: Registry } = {},
  ): Promise<Monitoring> {
    const registry = options.registry ?? (await Registry.open(config, { clock: options.clock }));
    const monitoring = new Monitoring(config, registry, options, options.registry === undefined);
    try {
      await monitoring.init();
    } catch (err) {
      await monitoring.close();
      throw err;
    }
    return monitoring;
  }

  async init(): Promise<void> {
    await migrate(this.registry.tracking.db, monitoringMigrations);
  }

  /**
   * The version's reference profile: the stored one, or one built from `data` or the run's
   * training file and stored. See {@link profileVersion}.
   */
  profile(
    model: string,
    version: string | number,
    options: { data?: string; rebuild?: boolean } = {},
  ): Promise<ReferenceProfile> {
    return profileVersion({
      registry: this.registry,
      store: this.profiles,
      model,
      version,
      root: this.config.root,
      clock: this.clock,
      ...options,
    });
  }

  /** The models with a monitor in keel.yaml. */
  monitoredModels(): string[] {
    return Object.keys(this.settings.models);
  }

  /** The monitor of a model: configured, or the defaults. */
  monitor(model: string, windowMs?: number): MonitorSpec {
    return monitorFor(this.settings, model, windowMs);
  }

  /**
   * Runs the monitor of `model` over the window ending at `asOf` (default now), stores its report,
   * applies it to the alerts and sends the notifications due. An empty window reports `no_data`
   * (and changes no alert); a version without a reference is reported, not thrown.
   */
  async run(model: string, options: RunOptions = {}): Promise<MonitorResult> {
    const spec = this.monitor(model, options.windowMs);
    const end = options.asOf ?? this.clock.now();
    const report = await runMonitor(
      {
        home: this.config.home,
        db: this.registry.tracking.db,
        runs: this.runs,
        clock: this.clock,
        referenceOf: (s, version) => this.referenceOf(s, version),
      },
      spec,
      { start: end - spec.windowMs, end },
      options.cause ?? 'manual',
    );
    const alerts = await this.alerts.apply(report, notificationTargets(this.notifier.settings));
    if (options.deliver !== false) await this.notifier.deliverDue();
    const retraining =
      options.retrain === false ? undefined : await this.triggered(spec, report, options.retrain);
    return { ...report, alerts, ...(retraining ? { retraining } : {}) };
  }

  /** Starts the retraining a run's drift or performance calls for, unless its cooldown holds it. */
  private async triggered(
    spec: MonitorSpec,
    report: MonitorReport,
    mode: 'await' | 'background' = 'await',
  ): Promise<Retraining | undefined> {
    const trigger = reportTrigger(spec, report);
    if (!trigger || !spec.retrain) return undefined;
    const last = await this.retrainings.lastStarted(spec.model, trigger.cause);
    if (last && this.clock.now() - last.startedAt < spec.retrain.cooldownMs) return undefined;
    return this.retrainer.retrain(
      spec.model,
      spec.retrain,
      { ...trigger, requestedBy: 'monitor' },
      mode === 'await',
    );
  }

  /**
   * Retrains `model` with its recipe in keel.yaml (an event trigger unless `cause` says otherwise).
   * With `wait` (default), resolves when done; else at once with the running record.
   */
  retrain(
    model: string,
    request: {
      reason: string;
      cause?: RetrainCause;
      requestedBy?: string;
      evidence?: Record<string, unknown>;
      wait?: boolean;
    },
  ): Promise<Retraining> {
    const spec = this.settings.models[model];
    return this.retrainer.retrain(
      model,
      spec?.retrain,
      {
        cause: request.cause ?? 'event',
        reason: request.reason,
        evidence: request.evidence ?? {},
        requestedBy: request.requestedBy ?? this.registry.actor.user,
      },
      request.wait ?? true,
    );
  }

  /** The reference a monitor compares a version with: its profile, or its scores on a dataset. */
  private async referenceOf(spec: MonitorSpec, version: string): Promise<Reference> {
    if (spec.reference === 'profile')
      return { kind: 'profile', profile: await this.profile(spec.model, version) };
    const path = resolve(this.config.root, spec.reference.dataset);
    const key = `${spec.model}\u0000${version}\u0000${path}\u0000${statSync(path, { throwIfNoEntry: false })?.mtimeMs}`;
    let profile = this.datasetProfiles.get(key);
    if (!profile) {
      profile = buildVersionProfile({
        registry: this.registry,
        model: spec.model,
        version,
        data: path,
        root: this.config.root,
        clock: this.clock,
      });
      this.datasetProfiles.set(key, profile);
      profile.catch(() => this.datasetProfiles.delete(key));
    }
    return { kind: 'dataset', profile: await profile, path };
  }

  /**
   * Profiles a version just registered when its run names its training data here; otherwise leaves
   * it to the first monitor run (which may be given a dataset). Other failures are thrown.
   */
  async profileIfData(model: string, version: string | number): Promise<ReferenceProfile | undefined> {
    try {
      return await this.profile(model, version);
    } catch (err) {
      // The run names no training file here, or one without the model's features (a training
      // set's entity file): the first monitor run, or `--data`, builds it then.
      if (isKeelError(err, 'RESOURCE_DOES_NOT_EXIST') || isKeelError(err, 'INVALID_PARAMETER_VALUE'))
        return undefined;
      throw err;
    }
  }

  /**
   * Forgets everything monitoring holds about a model: its prediction log, monitor runs, alerts
   * and their notifications, retrainings, profiles and request figures (a replay starting over).
   */
  async forget(model: string): Promise<void> {
    await this.registry.tracking.db.transaction(async (tx) => {
      await tx.run(
        'DELETE FROM alert_notifications WHERE alert_id IN (SELECT id FROM monitoring_alerts WHERE model = ?)',
        [model],
      );
      for (const table of ['monitoring_alerts', 'monitor_runs', 'retrainings', 'request_figures'])
        await tx.run(`DELETE FROM ${table} WHERE model = ?`, [model]);
      await tx.run('DELETE FROM monitoring_profiles WHERE name = ?', [model]);
    });
    rmSync(predictionsDir(this.config.home, model), { recursive: true, force: true });
  }

  /** Stops this process's retrainings, and closes the registry when this facade opened it. */
  async close(): Promise<void> {
    await this.retrainer.close();
    if (this.ownsRegistry) await this.registry.close();
  }
}
