/**
 * @module monitoring/retrainer
 * A retraining, from trigger to canary: record the trigger (one retraining per model at a time),
 * run the model's recipe in a child process, register its model with the run's lineage (and the
 * feature references of the model's newest version, so entity requests keep working), store its
 * reference profile, evaluate the gates (the Production gates as a report, and the stage the
 * policy allows through its own gates), and point the canary alias at it, which a server serving
 * `--canary models:/<name>@<alias>` follows within its refresh interval.
 */
import { type Clock, isKeelError, type KeelConfig, KeelError, type Logger } from '../core/index.js';
import type { GateResult, Registry } from '../registry/index.js';
import type { RetrainSpec } from './monitor-config.js';
import { runRecipe } from './retrain-recipe.js';
import type { Retraining, RetrainingStore, RetrainRequest, RetrainResult } from './retrainings.js';

/** How often a running retraining tells the database it is alive. */
const HEARTBEAT_MS = 30_000;

export interface RetrainerDeps {
  config: KeelConfig;
  registry: Registry;
  store: RetrainingStore;
  clock: Clock;
  logger: Logger;
  /** Stores the new version's profile; false when its training data cannot be found. */
  profile: (model: string, version: string) => Promise<boolean>;
}

export class Retrainer {
  /** Retrainings this process runs, with how to stop them. */
  private readonly active = new Map<number, { stop: () => void; done: Promise<Retraining> }>();
  private closed = false;

  constructor(private readonly deps: RetrainerDeps) {}

  /**
   * Starts a retraining of `model` (or records the trigger as skipped when one runs); with `wait`,
   * resolves when it has finished, else at once with the running record.
   * @throws KeelError INVALID_PARAMETER_VALUE when the model has no recipe in keel.yaml;
   *   FAILED_PRECONDITION for an event when the model's event trigger is off.
   */
  async retrain(
    model: string,
    spec: RetrainSpec | undefined,
    request: RetrainRequest,
    wait = true,
  ): Promise<Retraining> {
    if (!spec)
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `model '${model}' has no training recipe: add monitoring.models.${model}.retrain.recipe to keel.yaml`,
      );
    if (request.cause === 'event' && !spec.triggers.event)
      throw new KeelError(
        'FAILED_PRECONDITION',
        `model '${model}' does not retrain on events (monitoring.models.${model}.retrain.triggers.event is false)`,
      );
    if (this.closed) throw new KeelError('TEMPORARILY_UNAVAILABLE', 'retraining is stopping with the server');
    const record = await this.deps.store.start(model, request);
    if (record.status === 'skipped') {
      this.deps.logger.info(
        { model, cause: request.cause, running: record.result.runningId },
        'a retraining already runs: trigger recorded as skipped',
      );
      return record;
    }
    const controller = new AbortController();
    const done = this.execute(model, spec, record, controller.signal).finally(() =>
      this.active.delete(record.id),
    );
    this.active.set(record.id, { stop: () => controller.abort(), done });
    return wait ? done : record;
  }

  /** Waits for the retrainings this process started. */
  async idle(): Promise<void> {
    await Promise.all([...this.active.values()].map((a) => a.done.catch(() => undefined)));
  }

  /** Stops the retrainings this process runs (their rows end failed) and refuses new ones. */
  async close(): Promise<void> {
    this.closed = true;
    for (const a of this.active.values()) a.stop();
    await this.idle();
  }

  private async execute(
    model: string,
    spec: RetrainSpec,
    record: Retraining,
    signal: AbortSignal,
  ): Promise<Retraining> {
    const { registry, store, clock, logger } = this.deps;
    const started = clock.now();
    const result: RetrainResult = {};
    const beat = setInterval(() => {
      store.heartbeat(record.id).catch(() => undefined);
    }, HEARTBEAT_MS).unref();
    try {
      logger.info({ model, cause: record.cause, id: record.id }, `retraining ${model}: ${record.reason}`);
      const outcome = await runRecipe(spec, this.deps.config, clock, { signal });
      result.runId = outcome.runId;
      await store.progress(record.id, result);
      const versions = await registry.latestVersions(model);
      const newest = versions.reduce(
        (a, v) => (Number(v.version) > Number(a?.version ?? 0) ? v : a),
        versions[0],
      );
      const features = newest ? (await registry.versions.getPackage(model, newest.version)).features : [];
      const created = await registry.versions.create({
        name: model,
        source: outcome.source,
        runId: outcome.runId,
        features,
        description: `retrained (${record.cause}): ${record.reason}`,
        tags: [
          { key: 'keel.retrain.id', value: String(record.id) },
          { key: 'keel.retrain.cause', value: record.cause },
        ],
      });
      result.version = created.version;
      await store.progress(record.id, result);
      result.profiled = await this.deps.profile(model, created.version);
      if (spec.promote) {
        result.promotion = await this.promote(model, created.version, spec.promote.stage);
        if (result.promotion.status === 'promoted' && spec.promote.canaryAlias) {
          await registry.setAlias(model, spec.promote.canaryAlias, created.version);
          result.canary = { alias: spec.promote.canaryAlias, version: created.version };
        }
      }
      // Where the version now stands against Production's checklist: the report a person reads next.
      if (spec.promote === false || spec.promote.stage !== 'Production')
        result.productionGates = await registry.promotions.check(model, created.version, 'Production');
      result.durationMs = clock.now() - started;
      const done = await store.finish(record.id, 'succeeded', result);
      logger.info(
        { model, id: record.id, version: created.version },
        `retrained ${model}: version ${created.version}`,
      );
      return done;
    } catch (err) {
      const output = isKeelError(err) ? err.details?.output : undefined;
      if (typeof output === 'string') result.output = output;
      result.durationMs = clock.now() - started;
      const message = signal.aborted ? 'stopped: the process is shutting down' : (err as Error).message;
      logger.error({ model, id: record.id, err }, `retraining ${model} failed: ${message}`);
      return store.finish(record.id, 'failed', result, message);
    } finally {
      clearInterval(beat);
    }
  }

  /** The promotion the policy allows: applied, waiting for approval, or refused by a gate. */
  private async promote(
    model: string,
    version: string,
    stage: string,
  ): Promise<NonNullable<RetrainResult['promotion']>> {
    try {
      const p = await this.deps.registry.promote(model, version, stage);
      return {
        stage,
        status: p.status,
        gates: p.gates,
        ...(p.request_id === undefined ? {} : { requestId: p.request_id }),
      };
    } catch (err) {
      const gates = isKeelError(err, 'FAILED_PRECONDITION')
        ? (err.details?.gates as GateResult[] | undefined)
        : undefined;
      if (!gates) throw err;
      return { stage, status: 'refused', gates };
    }
  }
}
