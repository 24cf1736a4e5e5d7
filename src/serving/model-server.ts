/**
 * @module serving/model-server
 * The models one `keel serve` process serves, by name. A request takes a lease on the predictor
 * serving its model and gives it back when done, so a model can be replaced under load without
 * releasing a session a request still uses.
 */
import { KeelError } from '../core/index.js';
import type { FeatureStore } from '../features/index.js';
import type { Registry } from '../registry/index.js';
import { ServingModel, type ServingModelInfo } from './model.js';
import { Predictor } from './predictor.js';

export interface ModelServerOptions {
  registry: Registry;
  /** The feature store entity requests read features from. */
  features?: FeatureStore;
  /** Model URIs to serve (`models:/churn@champion`), each under its registered model's name. */
  models: readonly string[];
}

/**
 * A predictor held for one request; `release` once when the request is done, saying whether the
 * model failed it (a canary's error rate counts those).
 */
export interface Lease {
  predictor: Predictor;
  release(failed?: boolean): void;
}

interface Served {
  predictor: Predictor;
  inFlight: number;
}

export class ModelServer {
  private readonly served = new Map<string, Served>();

  /**
   * Loads every model; a model that does not load stops the start with its error.
   * @throws KeelError as `ServingModel.load`, or INVALID_PARAMETER_VALUE for two URIs of one model.
   */
  static async start(options: ModelServerOptions): Promise<ModelServer> {
    const server = new ModelServer();
    try {
      for (const uri of options.models) {
        const model = await ServingModel.load(options.registry, uri);
        if (server.served.has(model.info.name)) {
          await model.release();
          throw new KeelError('INVALID_PARAMETER_VALUE', `model '${model.info.name}' is given twice`);
        }
        server.served.set(model.info.name, {
          predictor: new Predictor(model, options.features),
          inFlight: 0,
        });
      }
    } catch (err) {
      await server.close();
      throw err;
    }
    return server;
  }

  /** What is served, by model name. */
  list(): ServingModelInfo[] {
    return [...this.served.values()].map((s) => s.predictor.model.info);
  }

  /**
   * The predictor serving `name` now; with `version`, only if that is the version served. `key`
   * (an entity or client id) keeps a caller on one side of a traffic split.
   * @throws KeelError RESOURCE_DOES_NOT_EXIST for a model or version not served here.
   */
  acquire(name: string, options: { version?: string; key?: string } = {}): Lease {
    const served = this.served.get(name);
    if (!served) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `model '${name}' is not served here`);
    const info = served.predictor.model.info;
    if (options.version !== undefined && options.version !== info.version)
      throw new KeelError(
        'RESOURCE_DOES_NOT_EXIST',
        `model '${name}' version ${options.version} is not served here (serving version ${info.version})`,
      );
    served.inFlight++;
    let released = false;
    return {
      predictor: served.predictor,
      release: () => {
        if (released) return;
        released = true;
        served.inFlight--;
      },
    };
  }

  async close(): Promise<void> {
    const all = [...this.served.values()];
    this.served.clear();
    await Promise.all(all.map((s) => s.predictor.model.release()));
  }
}
