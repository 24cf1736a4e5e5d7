/**
 * @module serving/model-server
 * The models one `keel serve` process serves, by name. A request takes a lease on the predictor
 * serving its model and gives it back when done, so a model can be replaced under load without
 * releasing a session a request still uses.
 *
 * A URI naming an alias or a stage (`models:/churn@champion`, `models:/churn/Production`) is
 * re-resolved every `refreshIntervalMs` and on `refresh()`: a promotion is served once the new
 * version has loaded and scored a warm-up row, with no request failing on the way. The registry
 * has no in-process event to listen to, and another process may promote, so the server polls.
 * A model may have a canary taking a share of its traffic; the canary's requests and failures are
 * added to its version's record in the registry (what the promotion gate `canary` reads). It may
 * also have a shadow, which scores a copy of each request the primary answers (`acquireShadow`):
 * logged, never answered. A new version on any side is refused unless it can take the primary's
 * requests (serving/compatibility).
 *
 * @example
 * const server = await ModelServer.start({
 *   registry,
 *   models: [{ uri: 'models:/churn@champion', canary: { uri: 'models:/churn@challenger', percent: 10 } }],
 * });
 * const lease = server.acquire('churn', { key: customerId });
 * let failed = false;
 * try {
 *   return await lease.predictor.predictRecords(rows);
 * } catch (err) {
 *   // Bad input is the caller's fault, not the model's.
 *   failed = !(err instanceof KeelError && err.code === 'INVALID_PARAMETER_VALUE');
 *   throw err;
 * } finally {
 *   lease.release(failed);
 * }
 */
import { z } from 'zod';
import { inputPolicySchema, KeelError, type Logger, parseInput, silentLogger } from '../core/index.js';
import type { FeatureStore } from '../features/index.js';
import { Rng } from '../ml/index.js';
import { parseModelUri, type Registry } from '../registry/index.js';
import { type InputPolicies, type InputPolicy, inputPolicyFor } from './input-policy.js';
import type { ServingModelInfo, SessionOptions } from './model.js';
import type { Predictor } from './predictor.js';
import { type Backend, type RefreshError, Slot, type SlotRole } from './slot.js';
import { type RandomSource, type SplitRule, toCanary } from './traffic.js';

const entrySchema = z.preprocess(
  (entry) => (typeof entry === 'string' ? { uri: entry } : entry),
  z.strictObject({
    uri: z.string().min(1),
    canary: z
      .strictObject({
        uri: z.string().min(1),
        percent: z.number().min(0).max(100),
        sticky: z.boolean().default(false),
      })
      .optional(),
    shadow: z.strictObject({ uri: z.string().min(1) }).optional(),
  }),
);

const settingsSchema = z.strictObject({
  models: z.array(entrySchema),
  refreshIntervalMs: z.number().int().min(0).default(2000),
  canaryFlushMs: z.number().int().positive().default(5000),
  seed: z.number().int().optional(),
  inputPolicies: z
    .strictObject({
      default: inputPolicySchema.optional(),
      models: z.record(z.string(), inputPolicySchema.optional()).optional(),
    })
    .default({}),
});

/**
 * A model to serve: its URI, or its URI and a canary taking `percent` (0 to 100) of its requests.
 * `sticky` keeps each request key on one side of the split.
 */
export type ModelEntry =
  | string
  | {
      uri: string;
      canary?: { uri: string; percent: number; sticky?: boolean };
      /** A version scoring a copy of every request the primary serves: logged, never answered. */
      shadow?: { uri: string };
    };

export interface ModelServerOptions {
  registry: Registry;
  /** The feature store entity requests read features from. */
  features?: FeatureStore;
  /** Models to serve (`models:/churn@champion`), each under its registered model's name. */
  models: readonly ModelEntry[];
  /** How often alias and stage URIs are re-resolved, in ms (default 2000; 0: only on `refresh()`). */
  refreshIntervalMs?: number;
  /** How often canary traffic is added to the registry, in ms (default 5000; also at `close`). */
  canaryFlushMs?: number;
  /** Seeds the draw of non-sticky splits, for reproducible tests. */
  seed?: number;
  /** What the scoring routes do with unseen categories and missing features, per model (see serving/input-policy). */
  inputPolicies?: InputPolicies;
  /** Where swaps and failed loads are reported (default: nowhere). */
  logger?: Logger;
  /** ONNX Runtime settings and the optimized-graph cache of every session (serving/model). */
  session?: SessionOptions;
}

/**
 * A predictor held for one request; `release` once when the request is done, saying whether the
 * model failed it (a canary's error rate counts those).
 */
export interface Lease {
  predictor: Predictor;
  /** The request went to the model's canary. */
  canary: boolean;
  release(failed?: boolean): void;
}

/** A served model's canary: its URI, the split, and whether it takes traffic now. */
export interface CanaryInfo {
  uri: string;
  /** The version it serves; none while it is being swapped or after its load failed. */
  version: string | null;
  percent: number;
  sticky: boolean;
  /** Only a ready canary gets traffic: loaded, warmed and not being swapped. */
  ready: boolean;
  lastError?: RefreshError;
}

/** A served model's shadow: its URI, the version it serves, and whether it takes copies now. */
export interface ShadowInfo {
  uri: string;
  version: string | null;
  ready: boolean;
  lastError?: RefreshError;
}

/** What a model's shadow scored since the server started: copies of requests, and those it failed. */
export interface ShadowTraffic {
  model: string;
  version: string;
  requests: number;
  errors: number;
}

/** A served model: the primary version's info, plus how it is kept up to date and split. */
export interface ServedModelInfo extends ServingModelInfo {
  /** The URI names an alias or a stage, so a promotion swaps the version served. */
  follows: boolean;
  /** Leases out on the version served. */
  inFlight: number;
  /** Versions swapped out that still finish requests, their sessions released after. */
  draining: Array<{ version: string; inFlight: number }>;
  /** The last refresh of the URI that failed, until one succeeds. */
  lastError?: RefreshError;
  canary?: CanaryInfo;
  shadow?: ShadowInfo;
  inputPolicy: InputPolicy;
}

/** The versions one side of a model refused: how many since the start, and the one refused now. */
export interface SwapRefusals {
  model: string;
  role: SlotRole;
  count: number;
  refused?: RefreshError;
}

interface Served {
  primary: Slot;
  canary?: { slot: Slot; rule: SplitRule };
  shadow?: Slot;
  inputPolicy: InputPolicy;
}

/** Canary traffic not yet added to the registry. */
interface Tally {
  name: string;
  version: string;
  requests: number;
  errors: number;
}

export class ModelServer {
  private readonly served = new Map<string, Served>();
  private readonly tallies = new Map<string, Tally>();
  /** Running totals of what each shadow version scored. */
  private readonly shadowTotals = new Map<string, ShadowTraffic>();
  private readonly timers: NodeJS.Timeout[] = [];
  /** Refreshes run one after another; this settles when the last one queued is done. */
  private refreshes: Promise<void> = Promise.resolve();
  private refreshing = 0;
  /** Flushes of canary traffic, one after another. */
  private flushes: Promise<void> = Promise.resolve();

  private constructor(
    private readonly registry: Registry,
    private readonly random: RandomSource,
    private readonly logger: Logger,
  ) {}

  /**
   * Loads every model and canary. A model that does not load stops the start with its error; a
   * canary that does not load only gets no traffic until a refresh loads it.
   * @throws KeelError as `ServingModel.load`; INVALID_PARAMETER_VALUE naming the field for a bad
   *   option, for two entries of one model, or for a canary of another registered model.
   */
  static async start(options: ModelServerOptions): Promise<ModelServer> {
    const settings = parseInput(
      settingsSchema,
      {
        models: options.models,
        refreshIntervalMs: options.refreshIntervalMs,
        canaryFlushMs: options.canaryFlushMs,
        seed: options.seed,
        inputPolicies: options.inputPolicies,
      },
      'model server options',
    );
    const seeded = settings.seed === undefined ? undefined : new Rng(settings.seed);
    const logger = options.logger ?? silentLogger;
    const server = new ModelServer(options.registry, seeded ? () => seeded.next() : Math.random, logger);
    const ctx = { registry: options.registry, features: options.features, logger, session: options.session };
    const entries = settings.models.map((entry, i) => {
      const { name } = parseModelUri(entry.uri);
      if (server.served.has(name))
        throw new KeelError('INVALID_PARAMETER_VALUE', `model '${name}' is given twice`);
      for (const side of ['canary', 'shadow'] as const) {
        const uri = entry[side]?.uri;
        if (uri !== undefined && parseModelUri(uri).name !== name)
          throw new KeelError(
            'INVALID_PARAMETER_VALUE',
            `models.${i}.${side}.uri: ${uri} is not a version of '${name}'`,
          );
      }
      const primary = new Slot(entry.uri, 'primary', ctx);
      const served: Served = {
        primary,
        canary: entry.canary && {
          slot: new Slot(entry.canary.uri, 'canary', ctx, () => primary.serving),
          rule: { percent: entry.canary.percent, sticky: entry.canary.sticky },
        },
        shadow: entry.shadow && new Slot(entry.shadow.uri, 'shadow', ctx, () => primary.serving),
        inputPolicy: inputPolicyFor(name, settings.inputPolicies),
      };
      server.served.set(name, served);
      return served;
    });
    try {
      for (const { primary, canary, shadow } of entries) {
        await primary.open();
        await canary?.slot.refresh();
        await shadow?.refresh();
      }
    } catch (err) {
      await server.close();
      throw err;
    }
    if (settings.refreshIntervalMs > 0)
      server.every(settings.refreshIntervalMs, () => {
        // A slow load must not pile refreshes up behind it.
        if (server.refreshing === 0) void server.refresh();
      });
    server.every(settings.canaryFlushMs, () => void server.flushCanary());
    return server;
  }

  private every(ms: number, fn: () => void): void {
    // unref: a forgotten server must not keep the process alive.
    this.timers.push(setInterval(fn, ms).unref());
  }

  /** The names of the models served, cheaply: what a request is checked against. */
  names(): string[] {
    return [...this.served.keys()];
  }

  /**
   * The input policy of model `name`.
   * @throws KeelError RESOURCE_DOES_NOT_EXIST for a model not served here.
   */
  inputPolicy(name: string): InputPolicy {
    const served = this.served.get(name);
    if (!served) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `model '${name}' is not served here`);
    return served.inputPolicy;
  }

  /** What is served, by model name: the primary version, swaps in progress, and the canary. */
  list(): ServedModelInfo[] {
    return [...this.served.values()].flatMap(({ primary, canary, shadow, inputPolicy }) => {
      const serving = primary.serving;
      if (!serving) return [];
      const c = canary?.slot.serving;
      const sh = shadow?.serving;
      return [
        {
          ...serving.predictor.model.info,
          follows: primary.follows,
          inFlight: serving.inFlight,
          draining: primary.drainingVersions,
          ...(primary.lastError ? { lastError: primary.lastError } : {}),
          inputPolicy,
          ...(canary
            ? {
                canary: {
                  uri: canary.slot.uri,
                  version: c?.version ?? null,
                  percent: canary.rule.percent,
                  sticky: canary.rule.sticky,
                  ready: c !== undefined,
                  ...(canary.slot.lastError ? { lastError: canary.slot.lastError } : {}),
                },
              }
            : {}),
          ...(shadow
            ? {
                shadow: {
                  uri: shadow.uri,
                  version: sh?.version ?? null,
                  ready: sh !== undefined,
                  ...(shadow.lastError ? { lastError: shadow.lastError } : {}),
                },
              }
            : {}),
        },
      ];
    });
  }

  /**
   * Per model and side, the versions refused since the server started (a swap or a canary that
   * could not take the requests served, or failed its warm-up), and the one refused now.
   */
  refusals(): SwapRefusals[] {
    return [...this.served.entries()].flatMap(([model, s]) =>
      [s.primary, s.canary?.slot, s.shadow].flatMap((slot) =>
        slot
          ? [
              {
                model,
                role: slot.role,
                count: slot.refusals,
                ...(slot.lastError?.refused ? { refused: slot.lastError } : {}),
              },
            ]
          : [],
      ),
    );
  }

  /**
   * The predictor to serve one request of `name` with: the canary's for its share of requests
   * when it is ready, the primary's otherwise. With `version`, only that version (primary or
   * canary). `key` (an entity or client id) keeps a caller on one side of a sticky split.
   * @throws KeelError RESOURCE_DOES_NOT_EXIST for a model or version not served here.
   */
  acquire(name: string, options: { version?: string; key?: string } = {}): Lease {
    const served = this.served.get(name);
    const primary = served?.primary.serving;
    if (!served || !primary)
      throw new KeelError('RESOURCE_DOES_NOT_EXIST', `model '${name}' is not served here`);
    const canary = served.canary?.slot.serving;
    let backend: Backend;
    if (options.version === undefined)
      backend =
        canary && served.canary && toCanary(served.canary.rule, name, options.key, this.random)
          ? canary
          : primary;
    else if (options.version === primary.version) backend = primary;
    else if (options.version === canary?.version) backend = canary;
    else
      throw new KeelError(
        'RESOURCE_DOES_NOT_EXIST',
        `model '${name}' version ${options.version} is not served here (serving version ${primary.version}${canary ? `, canary ${canary.version}` : ''})`,
      );
    const isCanary = backend === canary;
    backend.take();
    let released = false;
    return {
      predictor: backend.predictor,
      canary: isCanary,
      release: (failed = false) => {
        if (released) return;
        released = true;
        if (isCanary) this.tally(name, backend.version, 1, failed ? 1 : 0);
        backend.give();
      },
    };
  }

  /**
   * A lease on the shadow of model `name`, to score a copy of a request the primary served, when
   * the model has a shadow ready; its scores are logged, never answered. Release it once, saying
   * whether the shadow failed: `shadowTraffic` counts both.
   */
  acquireShadow(name: string): Lease | undefined {
    const backend = this.served.get(name)?.shadow?.serving;
    if (!backend) return undefined;
    backend.take();
    let released = false;
    return {
      predictor: backend.predictor,
      canary: false,
      release: (failed = false) => {
        if (released) return;
        released = true;
        const id = `${name}\u0000${backend.version}`;
        const t = this.shadowTotals.get(id) ?? {
          model: name,
          version: backend.version,
          requests: 0,
          errors: 0,
        };
        t.requests++;
        if (failed) t.errors++;
        this.shadowTotals.set(id, t);
        backend.give();
      },
    };
  }

  /** What each shadow version scored since the server started (metrics read it). */
  shadowTraffic(): ShadowTraffic[] {
    return [...this.shadowTotals.values()].map((t) => ({ ...t }));
  }

  private tally(name: string, version: string, requests: number, errors: number): void {
    const id = `${name}\u0000${version}`;
    const t = this.tallies.get(id);
    if (t) {
      t.requests += requests;
      t.errors += errors;
    } else this.tallies.set(id, { name, version, requests, errors });
  }

  /**
   * Adds the canary traffic counted since the last flush to each version's record in the
   * registry. Runs on a timer and at `close`; a failed write keeps its counts for the next flush.
   */
  flushCanary(): Promise<void> {
    this.flushes = this.flushes.then(async () => {
      const due = [...this.tallies.values()];
      this.tallies.clear();
      for (const t of due) {
        try {
          await this.registry.recordCanary(t.name, t.version, { requests: t.requests, errors: t.errors });
        } catch (err) {
          // A version deleted meanwhile has nowhere to record its traffic.
          if (err instanceof KeelError && err.code === 'RESOURCE_DOES_NOT_EXIST') continue;
          this.logger.warn({ model: t.name, version: t.version, err }, 'recording canary traffic failed');
          this.tally(t.name, t.version, t.requests, t.errors);
        }
      }
    });
    return this.flushes;
  }

  /**
   * Re-resolves every alias and stage URI and swaps in the versions they name now; retries a
   * canary that failed to load. Never throws: a failure leaves the old version serving and shows
   * as `lastError` in `list()`. Resolves when this refresh is done (after any already running).
   */
  refresh(): Promise<void> {
    this.refreshing++;
    const run = this.refreshes.then(async () => {
      for (const { primary, canary, shadow } of this.served.values()) {
        await primary.refresh();
        await canary?.slot.refresh();
        await shadow?.refresh();
      }
    });
    this.refreshes = run.finally(() => {
      this.refreshing--;
    });
    return this.refreshes;
  }

  /**
   * Stops the timers, waits for a running refresh, records pending canary traffic, and releases
   * every session; a session with a lease still out is released when the lease comes back.
   */
  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    await this.refreshes;
    const all = [...this.served.values()];
    this.served.clear();
    await this.flushCanary();
    await Promise.all(all.flatMap((s) => [s.primary.close(), s.canary?.slot.close(), s.shadow?.close()]));
  }
}
