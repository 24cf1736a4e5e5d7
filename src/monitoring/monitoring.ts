/**
 * @module monitoring/monitoring
 * The Monitoring facade: reference profiles of registered versions over the registry's database.
 * The CLI and the server only call it.
 *
 * @example
 * const monitoring = await Monitoring.open(loadConfig());
 * const profile = await monitoring.profile('churn', 3);
 * await monitoring.close();
 */
import { type Clock, isKeelError, type KeelConfig, systemClock } from '../core/index.js';
import { Registry } from '../registry/index.js';
import { migrate } from '../storage/index.js';
import type { ReferenceProfile } from './profile.js';
import { ProfileStore } from './profile-store.js';
import { monitoringMigrations } from './schema.js';
import { profileVersion } from './version-profile.js';

export interface MonitoringOptions {
  clock?: Clock;
}

export class Monitoring {
  readonly profiles: ProfileStore;
  readonly clock: Clock;

  constructor(
    readonly config: KeelConfig,
    readonly registry: Registry,
    options: MonitoringOptions = {},
    private readonly ownsRegistry = false,
  ) {
    this.clock = options.clock ?? systemClock;
    this.profiles = new ProfileStore(registry.tracking.db);
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

  /**
   * Profiles a version just registered when its run names training data here; otherwise leaves it
   * to the first monitor run (which may be given a dataset). Other failures are thrown.
   */
  async profileIfData(model: string, version: string | number): Promise<ReferenceProfile | undefined> {
    try {
      return await this.profile(model, version);
    } catch (err) {
      if (isKeelError(err, 'RESOURCE_DOES_NOT_EXIST')) return undefined;
      throw err;
    }
  }

  /** Closes the registry when this facade opened it. */
  async close(): Promise<void> {
    if (this.ownsRegistry) await this.registry.close();
  }
}
