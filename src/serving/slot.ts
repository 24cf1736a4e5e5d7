/**
 * @module serving/slot
 * One URI a server serves (a model's primary or its canary) and the version loaded for it now. A
 * URI naming an alias or a stage follows it: `refresh` re-resolves it and, when it names another
 * version, loads and warms that version before any lease goes to it. The version it replaces
 * finishes the leases it has out and only then releases its session, so no request ever runs on
 * a released session.
 */
import type { Logger } from '../core/index.js';
import type { FeatureStore } from '../features/index.js';
import { parseModelUri, type Registry } from '../registry/index.js';
import { ServingModel, type SessionOptions } from './model.js';
import { Predictor } from './predictor.js';

/** The last refresh of a URI that failed: the version it tried (when it got that far) and why. */
export interface RefreshError {
  version?: string;
  message: string;
  /** When it failed (ms since the epoch). */
  at: number;
}

/** One loaded version and the leases out on it. */
export class Backend {
  private leases = 0;
  private retired = false;
  private releasing = false;
  private finish!: () => void;
  /** Settles once the session is released. */
  readonly released = new Promise<void>((resolve) => {
    this.finish = resolve;
  });

  constructor(
    readonly predictor: Predictor,
    private readonly logger: Logger,
  ) {}

  get version(): string {
    return this.predictor.model.info.version;
  }

  get inFlight(): number {
    return this.leases;
  }

  take(): void {
    this.leases++;
  }

  give(): void {
    this.leases--;
    if (this.retired && this.leases === 0) this.release();
  }

  /** Takes no new leases from now on; the session goes when the last lease out comes back. */
  retire(): void {
    this.retired = true;
    if (this.leases === 0) this.release();
  }

  private release(): void {
    if (this.releasing) return;
    this.releasing = true;
    const { name, version } = this.predictor.model.info;
    this.predictor.model
      .release()
      .catch((err: Error) => this.logger.error({ model: name, version, err }, 'releasing a session failed'))
      .finally(this.finish);
  }
}

export interface SlotContext {
  registry: Registry;
  features?: FeatureStore;
  logger: Logger;
  session?: SessionOptions;
}

export type SlotRole = 'primary' | 'canary';

export class Slot {
  /** Where new leases go; none while a canary is being swapped or after its load failed. */
  private current: Backend | undefined;
  /** Versions swapped out that still have leases out. */
  private readonly draining = new Set<Backend>();
  private failure: RefreshError | undefined;
  private closed = false;
  /** The URI names an alias or a stage, so the version behind it may change. */
  readonly follows: boolean;

  constructor(
    readonly uri: string,
    readonly role: SlotRole,
    private readonly ctx: SlotContext,
  ) {
    this.follows = parseModelUri(uri).kind !== 'version';
  }

  get serving(): Backend | undefined {
    return this.current;
  }

  get lastError(): RefreshError | undefined {
    return this.failure;
  }

  /** Versions still finishing their leases after a swap, with how many each has out. */
  get drainingVersions(): Array<{ version: string; inFlight: number }> {
    return [...this.draining].map((b) => ({ version: b.version, inFlight: b.inFlight }));
  }

  /**
   * Loads the version the URI names now.
   * @throws KeelError as `ServingModel.load`, or as `score` when the warm-up row fails.
   */
  async open(): Promise<void> {
    this.current = await this.load();
  }

  /**
   * Loads what the URI names now if that is another version (or nothing is loaded yet). Never
   * throws: a failure keeps what serves (a canary serves nothing) and is kept in `lastError`.
   */
  async refresh(): Promise<void> {
    if (this.closed || (this.current && !this.follows)) return;
    let target: string | undefined;
    try {
      // Which version the URI names now; `load` verifies the files of a new one.
      target = (await this.ctx.registry.resolveVersion(this.uri)).version;
      if (target === this.current?.version) {
        this.failure = undefined;
        return;
      }
      // A stale canary stops taking traffic at once: its traffic is the evidence for the version
      // the URI names now, and a split must only route to a backend that is ready.
      if (this.role === 'canary') this.retireCurrent();
      const next = await this.load();
      if (this.closed) {
        next.retire();
        return;
      }
      const from = this.current?.version;
      this.retireCurrent();
      this.current = next;
      this.failure = undefined;
      this.ctx.logger.info(
        { model: next.predictor.model.info.name, uri: this.uri, role: this.role, from, to: next.version },
        'serving a new version',
      );
    } catch (err) {
      const message = (err as Error).message;
      // Logged once per distinct failure, not at every refresh that meets it again.
      if (this.failure?.message !== message)
        this.ctx.logger.warn(
          { uri: this.uri, role: this.role, version: target, err },
          this.current ? 'a new version failed to load; the old one keeps serving' : 'a model failed to load',
        );
      this.failure = { ...(target === undefined ? {} : { version: target }), message, at: Date.now() };
    }
  }

  /** Retires every version; resolves when those with no lease out are released. */
  async close(): Promise<void> {
    this.closed = true;
    this.retireCurrent();
    await Promise.all([...this.draining].filter((b) => b.inFlight === 0).map((b) => b.released));
  }

  private retireCurrent(): void {
    const old = this.current;
    if (!old) return;
    this.current = undefined;
    this.draining.add(old);
    void old.released.then(() => this.draining.delete(old));
    old.retire();
  }

  /** A session ready to serve: loaded, and one row of zeros scored so the first request pays no warm-up. */
  private async load(): Promise<Backend> {
    const model = await ServingModel.load(this.ctx.registry, this.uri, this.ctx.session);
    try {
      await model.score(new Float32Array(model.width), 1);
    } catch (err) {
      await model.release().catch(() => {});
      throw err;
    }
    return new Backend(new Predictor(model, this.ctx.features), this.ctx.logger);
  }
}
