/**
 * @module serving/slot
 * One URI a server serves (a model's primary, its canary or its shadow) and the version loaded
 * for it now. A URI naming an alias or a stage follows it: `refresh` re-resolves it and, when it
 * names another version, loads and warms that version before any lease goes to it. The version it
 * replaces finishes the leases it has out and only then releases its session, so no request ever
 * runs on a released session.
 *
 * A version that cannot take the requests served now (see serving/compatibility), or that fails
 * or answers NaN on its input example, is refused: the old version keeps serving, and the refusal
 * is logged, counted and recorded in the registry (audit entry and version tag). A refused version
 * is not loaded again at every refresh: its files and feature references never change.
 */
import { KeelError, type Logger } from '../core/index.js';
import type { FeatureStore } from '../features/index.js';
import { parseModelUri, type Registry } from '../registry/index.js';
import { servingConflicts } from './compatibility.js';
import { ServingModel, type SessionOptions } from './model.js';
import { Predictor } from './predictor.js';
import { readInputExample, warmUp } from './warm-up.js';

/** The last refresh of a URI that failed: the version it tried (when it got that far) and why. */
export interface RefreshError {
  version?: string;
  message: string;
  /** When it failed (ms since the epoch). */
  at: number;
  /** The version loaded but was refused: it cannot serve these requests (not retried). */
  refused?: boolean;
}

/** A version kept out for good: it loads, but cannot take the requests served. */
class Refusal extends KeelError {}

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

export type SlotRole = 'primary' | 'canary' | 'shadow';

export class Slot {
  /** Where new leases go; none while a canary is being swapped or after its load failed. */
  private current: Backend | undefined;
  /** Versions swapped out that still have leases out. */
  private readonly draining = new Set<Backend>();
  private failure: RefreshError | undefined;
  private refusedCount = 0;
  /** The last version refused and the version it was judged against (`pairing`). */
  private refused: string | undefined;
  private closed = false;
  /** The URI names an alias or a stage, so the version behind it may change. */
  readonly follows: boolean;
  /** The version whose requests a new one must be able to take. */
  private readonly reference: () => Backend | undefined;

  /**
   * @param reference For a canary or a shadow, the primary's version now (they get its requests);
   *   a primary's new version is checked against the one it replaces.
   */
  constructor(
    readonly uri: string,
    readonly role: SlotRole,
    private readonly ctx: SlotContext,
    reference?: () => Backend | undefined,
  ) {
    this.follows = parseModelUri(uri).kind !== 'version';
    this.reference = reference ?? (() => this.current);
  }

  get serving(): Backend | undefined {
    return this.current;
  }

  get lastError(): RefreshError | undefined {
    return this.failure;
  }

  /** Versions refused since the slot opened (each counted once). */
  get refusals(): number {
    return this.refusedCount;
  }

  /** Versions still finishing their leases after a swap, with how many each has out. */
  get drainingVersions(): Array<{ version: string; inFlight: number }> {
    return [...this.draining].map((b) => ({ version: b.version, inFlight: b.inFlight }));
  }

  /**
   * Loads the version the URI names now.
   * @throws KeelError as `ServingModel.load`, or as `score` when the warm-up fails.
   */
  async open(): Promise<void> {
    this.current = await this.load();
  }

  /**
   * Loads what the URI names now if that is another version (or nothing is loaded yet). Never
   * throws: a failure keeps what serves (a canary or a shadow serves nothing) and is kept in
   * `lastError`.
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
      // Refused against the version served now: the answer would be the same.
      if (this.refused === this.pairing(target)) return;
      // A stale canary stops taking traffic at once: its traffic is the evidence for the version
      // the URI names now, and a split must only route to a backend that is ready. So does a
      // stale shadow: its scores would be logged under the wrong version's name.
      if (this.role !== 'primary') this.retireCurrent();
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
      const refused = err instanceof Refusal;
      // Logged once per distinct failure, not at every refresh that meets it again.
      if (this.failure?.message !== message) {
        const fields = { uri: this.uri, role: this.role, version: target, err };
        if (refused) await this.refuse(target, message);
        else
          this.ctx.logger.warn(
            fields,
            this.current
              ? 'a new version failed to load; the old one keeps serving'
              : 'a model failed to load',
          );
      }
      if (refused) this.refused = this.pairing(target);
      this.failure = {
        ...(target === undefined ? {} : { version: target }),
        message,
        at: Date.now(),
        ...(refused ? { refused } : {}),
      };
    }
  }

  private pairing(target: string | undefined): string {
    return `${target}\u0000${this.reference()?.version}`;
  }

  /** Reports a refused version: the log, the count (metrics read it) and the registry. */
  private async refuse(version: string | undefined, reason: string): Promise<void> {
    this.refusedCount++;
    const served = this.reference()?.version;
    const { name } = parseModelUri(this.uri);
    this.ctx.logger.warn(
      { model: name, uri: this.uri, role: this.role, version, serving: served, reason },
      this.role === 'primary'
        ? `refused to swap to version ${version}: version ${served} keeps serving`
        : `refused to serve version ${version} as the ${this.role}: it takes no traffic`,
    );
    if (version === undefined) return;
    try {
      await this.ctx.registry.recordServingRefusal(name, version, {
        ...(served === undefined ? {} : { from: served }),
        role: this.role,
        reason,
      });
    } catch (err) {
      this.ctx.logger.warn(
        { model: name, version, err },
        'recording a serving refusal in the registry failed',
      );
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

  /**
   * A session ready to serve: loaded, checked against the requests served now, and warmed up on
   * its input example so the first request pays no warm-up.
   * @throws Refusal when it cannot take the requests served, or fails its warm-up.
   */
  private async load(): Promise<Backend> {
    const model = await ServingModel.load(this.ctx.registry, this.uri, this.ctx.session);
    const { name, version } = model.info;
    try {
      const served = this.reference();
      const conflicts = served
        ? servingConflicts(served.predictor.model, model, {
            lookups: this.ctx.features !== undefined,
            sameCodes: this.role === 'shadow',
          })
        : [];
      if (conflicts.length > 0)
        throw new Refusal(
          'FAILED_PRECONDITION',
          `${name} version ${version} cannot take the requests version ${served?.version} serves: ${conflicts.join('; ')}`,
          { details: { conflicts } },
        );
      const example = await this.ctx.registry.inputExampleFile(name, version);
      try {
        await warmUp(model, example === undefined ? undefined : readInputExample(example));
      } catch (err) {
        throw new Refusal(
          'FAILED_PRECONDITION',
          `${name} version ${version} failed its warm-up: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
    } catch (err) {
      await model.release().catch(() => {});
      throw err;
    }
    return new Backend(new Predictor(model, this.ctx.features), this.ctx.logger);
  }
}
